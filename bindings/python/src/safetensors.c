/*
 * safetensors.c - the safetensors reader and writer of include/swifttrain.h for
 * swifttrain.safetensors (which makes and takes numpy arrays):
 *
 *     safetensors_read(path_or_bytes) -> ([(name, dtype, shape, bytearray), ...], {key: value})
 *     safetensors_write(path, entries, metadata)   # path None: -> the file's bytes
 *
 * entries are (name, dtype, shape, buffer) with a C-contiguous little-endian buffer.
 */
#include "_swifttrain.h"

/* The file's tensors and metadata as Python objects; closes `file`. */
static PyObject *read_entries(st_py_state *state, st_safetensors *file)
{
    size_t count = st_safetensors_count(file), pairs = st_safetensors_metadata_count(file);
    PyObject *entries = PyList_New(0), *metadata = PyDict_New(), *result = NULL;
    int status = ST_OK;
    if (entries == NULL || metadata == NULL)
        goto done;
    for (size_t i = 0; i < count; i++) {
        st_safetensors_entry e;
        if ((status = st_safetensors_entry_at(&e, file, i)) != ST_OK)
            goto done;
        PyObject *shape = PyTuple_New((Py_ssize_t)e.ndim);
        for (size_t d = 0; shape != NULL && d < e.ndim; d++) {
            PyObject *dim = PyLong_FromLongLong(e.shape[d]);
            if (dim == NULL)
                Py_CLEAR(shape);
            else
                PyTuple_SET_ITEM(shape, (Py_ssize_t)d, dim);
        }
        /* (a NULL shape makes the entry NULL: Py_BuildValue's N) */
        PyObject *entry = Py_BuildValue("(ssNN)", e.name, e.dtype, shape,
                                        PyByteArray_FromStringAndSize(e.data, (Py_ssize_t)e.nbytes));
        int rc = entry != NULL ? PyList_Append(entries, entry) : -1;
        Py_XDECREF(entry);
        if (rc < 0)
            goto done;
    }
    for (size_t i = 0; i < pairs; i++) {
        const char *key, *value;
        if ((status = st_safetensors_metadata_at(&key, &value, file, i)) != ST_OK)
            goto done;
        PyObject *v = PyUnicode_FromString(value);
        int rc = v != NULL ? PyDict_SetItemString(metadata, key, v) : -1;
        Py_XDECREF(v);
        if (rc < 0)
            goto done;
    }
    result = PyTuple_Pack(2, entries, metadata);
done:
    if (status != ST_OK)
        st_py_raise_status(state, status);
    Py_XDECREF(entries);
    Py_XDECREF(metadata);
    st_safetensors_free(file);
    return result;
}

PyDoc_STRVAR(safetensors_read_doc,
             "safetensors_read($module, source, /)\n--\n\n"
             "Reads and checks a safetensors file (a path) or its bytes (st_safetensors_open / "
             "_open_memory): ([(name, dtype, shape, bytearray), ...], metadata).");

static PyObject *safetensors_read(PyObject *module, PyObject *source)
{
    st_py_state *state = PyModule_GetState(module);
    st_safetensors *file = NULL;
    int status;
    if (PyBytes_Check(source) || PyByteArray_Check(source) || PyMemoryView_Check(source)) {
        Py_buffer view;
        if (PyObject_GetBuffer(source, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        status = st_safetensors_open_memory(&file, view.buf, (size_t)view.len);
        PyBuffer_Release(&view);
    } else {
        PyObject *path = NULL;
        if (!PyUnicode_FSConverter(source, &path))
            return NULL;
        Py_BEGIN_ALLOW_THREADS
        status = st_safetensors_open(&file, PyBytes_AS_STRING(path));
        Py_END_ALLOW_THREADS
        Py_DECREF(path);
    }
    if (status != ST_OK)
        return st_py_raise_status(state, status);
    return read_entries(state, file);
}

/* The C entries of a list of (name, dtype, shape, buffer); their memory lives in `views`
 * and `shapes` until release_entries. */
typedef struct entries {
    Py_ssize_t count;
    st_safetensors_entry *items;
    Py_buffer *views;
    int64_t *shapes; /* 64 per entry */
    const char **metadata;
    Py_ssize_t metadata_count;
    PyObject *metadata_items;
} entries;
/* The entries and metadata arguments of st_safetensors_serialize and st_safetensors_save. */
#define ENTRY_ARGS(e) (e).items, (size_t)(e).count, (e).metadata, (size_t)(e).metadata_count

static void release_entries(entries *e)
{
    for (Py_ssize_t i = 0; i < e->count; i++)
        PyBuffer_Release(&e->views[i]); /* (nothing for a view not acquired: obj NULL) */
    PyMem_Free(e->items);
    PyMem_Free(e->views);
    PyMem_Free(e->shapes);
    PyMem_Free((void *)e->metadata);
    Py_XDECREF(e->metadata_items);
}

static int make_entries(PyObject *list, PyObject *metadata, entries *e)
{
    memset(e, 0, sizeof *e);
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "safetensors: entries must be a list");
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(list);
    e->items = PyMem_Calloc((size_t)n + 1, sizeof *e->items);
    e->views = PyMem_Calloc((size_t)n + 1, sizeof *e->views);
    e->shapes = PyMem_Calloc(((size_t)n + 1) * 64, sizeof *e->shapes);
    if (e->items == NULL || e->views == NULL || e->shapes == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    e->count = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        st_safetensors_entry *item = &e->items[i];
        PyObject *shape, *data;
        /* name and dtype are borrowed from the list's tuples, alive during the call */
        if (!PyArg_ParseTuple(PyList_GET_ITEM(list, i), "ssOO:safetensors entry", &item->name,
                              &item->dtype, &shape, &data) ||
            st_py_int64_list_arg(shape, "safetensors: a shape", &e->shapes[i * 64], 64,
                                 &item->ndim) < 0 ||
            PyObject_GetBuffer(data, &e->views[i], PyBUF_C_CONTIGUOUS) < 0)
            return -1;
        item->shape = &e->shapes[i * 64];
        item->data = e->views[i].buf;
        item->nbytes = (size_t)e->views[i].len;
    }
    if (metadata != Py_None) {
        if (!PyDict_Check(metadata)) {
            PyErr_SetString(PyExc_TypeError, "safetensors: metadata must be a dict of str to str, or None");
            return -1;
        }
        e->metadata_items = PyDict_Items(metadata);
        if (e->metadata_items == NULL)
            return -1;
        e->metadata_count = PyList_GET_SIZE(e->metadata_items);
        e->metadata = PyMem_Calloc(2 * (size_t)e->metadata_count + 1, sizeof *e->metadata);
        if (e->metadata == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < e->metadata_count; i++) {
            PyObject *pair = PyList_GET_ITEM(e->metadata_items, i);
            PyObject *k = PyTuple_GET_ITEM(pair, 0), *v = PyTuple_GET_ITEM(pair, 1);
            if (!PyUnicode_Check(k) || !PyUnicode_Check(v)) {
                PyErr_Format(PyExc_TypeError, "safetensors: metadata must map str to str, got %R: %R", k, v);
                return -1;
            }
            if ((e->metadata[2 * i] = PyUnicode_AsUTF8(k)) == NULL ||
                (e->metadata[2 * i + 1] = PyUnicode_AsUTF8(v)) == NULL)
                return -1;
        }
    }
    return 0;
}

PyDoc_STRVAR(safetensors_write_doc,
             "safetensors_write($module, path, entries, metadata, /)\n--\n\n"
             "Writes a safetensors file atomically (st_safetensors_save), or with path None "
             "returns its bytes (st_safetensors_serialize).");

static PyObject *safetensors_write(PyObject *module, PyObject *args)
{
    PyObject *path_obj, *list, *metadata, *path = NULL, *result = NULL;
    if (!PyArg_ParseTuple(args, "OOO:safetensors_write", &path_obj, &list, &metadata) ||
        (path_obj != Py_None && !PyUnicode_FSConverter(path_obj, &path)))
        return NULL;
    st_py_state *state = PyModule_GetState(module);
    entries e;
    int status = ST_OK;
    size_t length = 0;
    if (make_entries(list, metadata, &e) < 0)
        goto done;
    if (path != NULL) {
        Py_BEGIN_ALLOW_THREADS
        status = st_safetensors_save(PyBytes_AS_STRING(path), ENTRY_ARGS(e));
        Py_END_ALLOW_THREADS
        result = Py_NewRef(Py_None);
    } else {
        /* The first call gives the length (ST_ESHAPE: no room in the empty buffer). */
        status = st_safetensors_serialize(NULL, 0, &length, ENTRY_ARGS(e));
        if (status == ST_OK || status == ST_ESHAPE) {
            result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)length);
            status = result == NULL ? ST_OK /* the MemoryError is set */
                                    : st_safetensors_serialize(PyBytes_AS_STRING(result),
                                                               length, &length, ENTRY_ARGS(e));
        }
    }
    if (status != ST_OK) {
        Py_CLEAR(result);
        st_py_raise_status(state, status);
    }
done:
    release_entries(&e);
    Py_XDECREF(path);
    return result;
}

PyMethodDef st_py_safetensors_functions[] = {
    {"safetensors_read", safetensors_read, METH_O, safetensors_read_doc},
    {"safetensors_write", safetensors_write, METH_VARARGS, safetensors_write_doc},
    {NULL, NULL, 0, NULL},
};
