import Synchronization

/// Identifies a registered callback, for `Trainer.removeCallback(_:)`.
public struct CallbackID: Hashable, Sendable {
    let value: Int
}

/// A callback as the trainer keeps it.
struct RegisteredCallback {
    let id: CallbackID
    let events: EventMask
    let priority: Int
    /// What the registrant named it by (the C layer: the function and user_data), for removal.
    let tag: AnyHashable?
    let body: EventCallback
}

extension Trainer {
    /// Registers a callback for `events`. Callbacks run after the built-in flow logic, by
    /// ascending `priority` and, among equal priorities, in registration order (loggers
    /// typically use a high priority to run last). `tag` names it for
    /// `removeCallbacks(tagged:)`.
    @discardableResult
    public func addCallback(_ events: EventMask = .all, priority: Int = 0, tag: AnyHashable? = nil,
                            _ body: @escaping TrainerCallback) -> CallbackID {
        addCallback(events, priority: priority, tag: tag) { data, state, control in
            try body(data.event, state, &control, data.metrics)
        }
    }

    /// Registers a callback that gets the event's data (`EventData`: batch, outputs, loss,
    /// optimizer, ...), with the same order rules.
    @discardableResult
    public func addCallback(_ events: EventMask = .all, priority: Int = 0, tag: AnyHashable? = nil,
                            _ body: @escaping EventCallback) -> CallbackID {
        let id = CallbackID(value: nextCallbackID)
        nextCallbackID += 1
        let index = callbacks.firstIndex { $0.priority > priority } ?? callbacks.count
        callbacks.insert(RegisteredCallback(id: id, events: events, priority: priority, tag: tag, body: body), at: index)
        listened |= events.rawValue
        return id
    }

    /// Unregisters a callback; false when it is not registered (any more). Removed during an
    /// event, it still sees that event (every callback of an event is chosen before the
    /// first runs) and none after.
    @discardableResult
    public func removeCallback(_ id: CallbackID) -> Bool {
        guard let index = callbacks.firstIndex(where: { $0.id == id }) else { return false }
        callbacks.remove(at: index)
        recomputeListened()
        return true
    }

    /// Unregisters every callback registered with `tag`; returns how many there were.
    @discardableResult
    public func removeCallbacks(tagged tag: AnyHashable) -> Int {
        let before = callbacks.count
        callbacks.removeAll { $0.tag == tag }
        recomputeListened()
        return before - callbacks.count
    }

    private func recomputeListened() {
        listened = callbacks.reduce(TrainerEvent.stepEnd.bit | TrainerEvent.epochEnd.bit) { $0 | $1.events.rawValue }
    }

    /// Asks a running (or the next) train() to stop gracefully at the end of the current
    /// optimizer step: the step completes, is logged, evaluated and, with `save` and a
    /// save_strategy other than "no", saved as a checkpoint to resume from; TRAIN_END runs
    /// and train() returns normally. A request made during the step's STEP_END, LOG,
    /// EVALUATE or SAVE callbacks (or at an epoch's end) stops at that step too. Safe from
    /// any thread and from a signal handler (one lock-free atomic operation); the request is
    /// consumed by the step that acts on it, or by the end of train().
    public func requestStop(save: Bool = true) {
        // a request to save is not weakened by a later one without
        _ = stopRequest.max(save ? 2 : 1, ordering: .relaxed)
    }

    /// Whether a stop was requested and not yet acted on.
    public var stopRequested: Bool { stopRequest.load(ordering: .relaxed) != 0 }

    // MARK: - Events

    /// The built-in flow (HF DefaultFlowCallback), then the callbacks. Costs one test of a
    /// bit when nobody listens. A callback cannot clear another's stop request.
    @inline(__always)
    func fire(_ event: TrainerEvent, metrics: Metrics? = nil) throws {
        guard listened & event.bit != 0 else { return }
        try dispatch(event, metrics)
    }

    private func dispatch(_ event: TrainerEvent, _ metrics: Metrics?) throws {
        eventSerial &+= 1
        applyDefaultFlow(event)
        let outer = (eventData.event, eventData.metrics, eventData.serial)
        (eventData.event, eventData.metrics, eventData.serial) = (event, metrics, eventSerial)
        dispatchDepth += 1
        defer {
            dispatchDepth -= 1
            (eventData.event, eventData.metrics, eventData.serial) = outer
        }
        // Teardown reaches every callback: one that throws at EXCEPTION or CLOSE does not
        // keep the others from running (the first error is rethrown after all have run).
        let teardown = event.isTeardown
        var firstError: (any Error)?
        for callback in callbacks where callback.events.contains(event) {
            var c = control
            do {
                try callback.body(eventData, state, &c)
            } catch {
                guard teardown else { throw error }
                if firstError == nil { firstError = error }
            }
            c.shouldTrainingStop = c.shouldTrainingStop || control.shouldTrainingStop
            control = c
        }
        if let firstError { throw firstError }
        if dispatchDepth == 1 && !pendingLogs.isEmpty { try flushLogs() }
    }

    /// Logs values of the caller's (HF's Trainer.log, Composer's logger): as HF does, the
    /// current "epoch" is added (unless given), they are appended to the log history with the
    /// current "step" and LOG fires with them, so they reach every logger. Called from a
    /// callback, the LOG event follows the current event's callbacks (events do not nest).
    public func log(_ given: Metrics) throws {
        var values = given
        if values["epoch"] == nil { values["epoch"] = state.epoch }
        if dispatchDepth > 0 && eventData.event == .log {
            throw SwiftTrainError.misuse("log() was called from a LOG callback, which it would call again without end; "
                + "log from another event (e.g. STEP_END)")
        }
        guard dispatchDepth == 0 else {
            pendingLogs.append(values)
            return
        }
        try record(values)
    }

    private func flushLogs() throws {
        while !pendingLogs.isEmpty {
            let next = pendingLogs.removeFirst()
            try record(next)
        }
    }

    /// Turns a pending requestStop into this step's control flags; whether there was one.
    /// Called by the training loop after each step's STEP_END, LOG and EVALUATE (and after
    /// SAVE), and after each epoch's end.
    @discardableResult
    func applyStopRequest() -> Bool {
        // (data-parallel: the request the processes agreed on at the step's end, agreeOnControl)
        let request = processGroup == nil ? stopRequest.exchange(0, ordering: .relaxed) : agreedStopRequest
        agreedStopRequest = 0
        guard request != 0 else { return false }
        control.shouldTrainingStop = true
        if request == 2 && args.saveStrategy != .no { control.shouldSave = true }
        return true
    }

    /// Drops a request no step acted on (train() ended first).
    func clearStopRequest() { stopRequest.store(0, ordering: .relaxed) }

    /// Fires INIT_END now, unless it has fired (HF fires on_init_end at the end of
    /// Trainer.__init__: a face calls this once its callbacks are registered). Without it,
    /// the first train(), evaluate() or predict() fires it.
    public func initEnd() throws {
        guard !running else {
            throw SwiftTrainError.misuse("initEnd() was called from inside a callback of the same trainer")
        }
        try fireInitEndOnce()
    }

    /// Fires `initEnd` once, before the first train, evaluate or predict.
    func fireInitEndOnce() throws {
        guard !initEndFired else { return }
        initEndFired = true
        try fire(.initEnd)
    }
}
