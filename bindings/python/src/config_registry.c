/*
 * config_registry.c - model and callback types of configs registered from Python, in the
 * library's one registry (st_config_register_model / st_config_register_callback):
 *
 *     config_register_model(name, factory)       factory(**arguments) -> nn.Module
 *     config_register_callback(name, factory)    factory(**arguments) -> TrainerCallback
 *     config_unregister_model(name), config_unregister_callback(name)
 *     config_add_callbacks(trainer, config, overrides, add)
 *         st_config_add_callbacks on a Trainer's st_trainer; the callbacks Python factories
 *         make are given to add (the Python Trainer's add_callback)
 *
 * The factories run with the GIL taken (PyGILState_Ensure): the library may call them from
 * st_config_build with the GIL released. A factory's exception becomes the library's error
 * message ("config: model.layers[1]: the factory of ... failed (...): ValueError: ...") and
 * the __cause__ of the exception the binding raises.
 */
#include "_swifttrain.h"

/* Every factory ever registered, kept for the process: a config built on another thread may
 * still be calling one when it is unregistered. */
static PyObject *kept_factories;

/* The module state the trampolines wrap modules with (set at the first registration). */
static st_py_state *registry_state;

/* During config_add_callbacks (the GIL held throughout): the trainer and where the Python
 * factories' callbacks go. */
static st_trainer *adding_to;
static PyObject *add_callback;

/* The last exception a factory raised (the cause of the error the binding raises), or NULL. */
static PyObject *pending_exception;

/* Reports the current Python exception to the library: "Type: message" as its last error
 * message, the exception kept as the cause. Clears it. */
static void report_exception(void)
{
    PyObject *exception = PyErr_GetRaisedException();
    PyObject *text = exception ? PyUnicode_FromFormat("%s: %S", Py_TYPE(exception)->tp_name, exception) : NULL;
    const char *utf8 = text ? PyUnicode_AsUTF8(text) : NULL;
    st_set_last_error_message(utf8 ? utf8 : "a Python exception that could not be formatted");
    PyErr_Clear();
    Py_XDECREF(text);
    Py_XDECREF(pending_exception);
    pending_exception = exception;
}

/* factory(**json.loads(args_json)), or NULL with an exception set. */
static PyObject *call_factory(PyObject *factory, const char *args_json)
{
    PyObject *json = PyImport_ImportModule("json");
    PyObject *kwargs = json ? PyObject_CallMethod(json, "loads", "s", args_json) : NULL;
    PyObject *args = kwargs ? PyTuple_New(0) : NULL;
    PyObject *result = NULL;
    if (args != NULL) {
        if (PyDict_Check(kwargs))
            result = PyObject_Call(factory, args, kwargs);
        else
            PyErr_SetString(PyExc_TypeError, "the config object's arguments are not a JSON object");
    }
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    Py_XDECREF(json);
    return result;
}

static st_status model_factory(st_module **out, const char *args_json, void *user_data)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    st_status status = ST_EINVAL;
    PyObject *module = call_factory((PyObject *)user_data, args_json);
    if (module != NULL) {
        PyObject *handle = PyObject_GetAttrString(module, "_handle");
        if (handle == NULL) {
            PyErr_Format(PyExc_TypeError, "the factory must return a swifttrain.nn.Module, got %s",
                         Py_TYPE(module)->tp_name);
        } else if (!PyObject_TypeCheck(handle, registry_state->ModuleType)) {
            PyErr_Format(PyExc_TypeError,
                         "the factory returned %s, a module with a forward of its own; a config's model runs in "
                         "the library: build it from swifttrain.nn layers (nn.Sequential(nn.Linear(...), ...))",
                         Py_TYPE(module)->tp_name);
        } else {
            status = st_module_share(out, ((st_py_module *)handle)->module);
        }
        Py_XDECREF(handle);
        Py_DECREF(module);
    }
    if (PyErr_Occurred()) {
        report_exception();
        status = ST_EINVAL;
    }
    PyGILState_Release(gil);
    return status;
}

static st_status callback_factory(st_trainer *trainer, const char *args_json, void *user_data)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    if (add_callback == NULL || trainer != adding_to) {
        PyErr_SetString(PyExc_TypeError,
                        "a callback type registered from Python (swifttrain.register_callback) is added by "
                        "Trainer.from_config; a trainer the library builds alone (swifttrain train, "
                        "st_trainer_create_from_config) cannot run a Python callback");
    } else {
        PyObject *callback = call_factory((PyObject *)user_data, args_json);
        PyObject *added = callback ? PyObject_CallOneArg(add_callback, callback) : NULL;
        Py_XDECREF(added);
        Py_XDECREF(callback);
    }
    st_status status = ST_OK;
    if (PyErr_Occurred()) {
        report_exception();
        status = ST_EINVAL;
    }
    PyGILState_Release(gil);
    return status;
}

/* Drops an exception no call raised (a factory's failure in cli_main, say). */
void st_py_config_forget_exception(void) { Py_CLEAR(pending_exception); }

/* Raises the library's error for `status`, with the factory's exception (if any) as its cause. */
PyObject *st_py_raise_config_status(st_py_state *state, int status)
{
    PyObject *cause = pending_exception;
    pending_exception = NULL;
    st_py_raise_status(state, status);
    if (cause != NULL) {
        PyObject *raised = PyErr_GetRaisedException();
        PyException_SetCause(raised, cause); /* steals cause */
        PyErr_SetRaisedException(raised);
    }
    return NULL;
}

static PyObject *do_register(PyObject *module, PyObject *args, int callback)
{
    st_py_state *state = PyModule_GetState(module);
    const char *name;
    PyObject *factory;
    if (!PyArg_ParseTuple(args, callback ? "sO:config_register_callback" : "sO:config_register_model", &name, &factory))
        return NULL;
    if (!PyCallable_Check(factory))
        return PyErr_Format(PyExc_TypeError, "the factory of \"%s\" must be callable, got %s", name,
                            Py_TYPE(factory)->tp_name);
    if (kept_factories == NULL && (kept_factories = PyList_New(0)) == NULL)
        return NULL;
    if (PyList_Append(kept_factories, factory) < 0)
        return NULL;
    registry_state = state;
    int status = callback ? st_config_register_callback(name, callback_factory, factory)
                          : st_config_register_model(name, model_factory, factory);
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(config_register_model_doc,
             "config_register_model($module, name, factory, /)\n--\n\n"
             "Registers a model type of configs (st_config_register_model): factory(**arguments) returns an "
             "nn.Module built from library layers.");

static PyObject *config_register_model(PyObject *module, PyObject *args) { return do_register(module, args, 0); }

PyDoc_STRVAR(config_register_callback_doc,
             "config_register_callback($module, name, factory, /)\n--\n\n"
             "Registers a callback type of configs (st_config_register_callback): factory(**arguments) returns "
             "a TrainerCallback, added by Trainer.from_config.");

static PyObject *config_register_callback(PyObject *module, PyObject *args) { return do_register(module, args, 1); }

PyDoc_STRVAR(config_unregister_model_doc,
             "config_unregister_model($module, name, /)\n--\n\n"
             "Removes a model type registered from C or Python (st_config_unregister_model).");

static PyObject *config_unregister_model(PyObject *module, PyObject *arg)
{
    const char *name = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (name == NULL)
        return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_TypeError, "the type's name must be a str");
    int status = st_config_unregister_model(name);
    return status == ST_OK ? Py_NewRef(Py_None) : st_py_raise_status(PyModule_GetState(module), status);
}

PyDoc_STRVAR(config_unregister_callback_doc,
             "config_unregister_callback($module, name, /)\n--\n\n"
             "Removes a callback type registered from C or Python (st_config_unregister_callback).");

static PyObject *config_unregister_callback(PyObject *module, PyObject *arg)
{
    const char *name = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (name == NULL)
        return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_TypeError, "the type's name must be a str");
    int status = st_config_unregister_callback(name);
    return status == ST_OK ? Py_NewRef(Py_None) : st_py_raise_status(PyModule_GetState(module), status);
}

PyDoc_STRVAR(config_add_callbacks_doc,
             "config_add_callbacks($module, trainer, config, overrides, add, /)\n--\n\n"
             "Adds a config's callbacks that register on a trainer to `trainer`'s st_trainer "
             "(st_config_add_callbacks); the Python factories' callbacks are given to add().");

static PyObject *config_add_callbacks(PyObject *module, PyObject *args)
{
    st_py_state *state = PyModule_GetState(module);
    PyObject *trainer, *add;
    const char *config, *overrides;
    if (!PyArg_ParseTuple(args, "O!szO:config_add_callbacks", state->TrainerType, &trainer, &config, &overrides, &add))
        return NULL;
    if (add_callback != NULL)
        return PyErr_Format(PyExc_RuntimeError, "config_add_callbacks: called again from a callback factory");
    st_py_config_forget_exception();
    adding_to = ((st_py_trainer *)trainer)->trainer;
    add_callback = add;
    int status = st_config_add_callbacks(adding_to, config, overrides); /* (the GIL stays held) */
    add_callback = NULL;
    adding_to = NULL;
    if (status != ST_OK)
        return st_py_raise_config_status(state, status);
    Py_CLEAR(pending_exception);
    Py_RETURN_NONE;
}

PyMethodDef st_py_config_registry_functions[] = {
    {"config_register_model", config_register_model, METH_VARARGS, config_register_model_doc},
    {"config_register_callback", config_register_callback, METH_VARARGS, config_register_callback_doc},
    {"config_unregister_model", config_unregister_model, METH_O, config_unregister_model_doc},
    {"config_unregister_callback", config_unregister_callback, METH_O, config_unregister_callback_doc},
    {"config_add_callbacks", config_add_callbacks, METH_VARARGS, config_add_callbacks_doc},
    {NULL, NULL, 0, NULL},
};
