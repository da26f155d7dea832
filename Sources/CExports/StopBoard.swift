import PlatformShims
import SwiftTrain

/// st_trainer_request_stop's path: a signal handler leaves the request on the lock-free board
/// (PlatformShims/stop_board.c), and the trainer's step-end callback hands it to
/// Trainer.requestStop, which acts on it after that event's callbacks.
enum StopBoard {
    private struct Tag: Hashable {}

    static func register(_ trainer: Trainer, handle: OpaquePointer) {
        let slot = stx_stop_board_add(UInt(bitPattern: handle))
        guard slot >= 0 else { return }  // over 4096 live trainers: requests take the locked path
        // wherever the loop looks for a request: after a step's end, log, evaluation and save
        let events: [TrainerEvent] = [.stepEnd, .log, .evaluate, .save, .epochEnd]
        let mask = events.reduce(UInt64(0)) { $0 | EventMask($1).rawValue }
        trainer.addCallback(EventMask(rawValue: mask), priority: Int.max, tag: Tag()) { [unowned trainer] _, _, _, _ in
            let request = stx_stop_board_take(slot)
            if request != 0 { trainer.requestStop(save: request == 2) }
        }
    }

    /// Runs a train() of `trainer`, then drops a request no step acted on (as Trainer.train
    /// does with its own); not after a call refused because that trainer is running already
    /// (a train() from inside its callback), whose request belongs to the run in progress.
    static func training<R>(_ trainer: Trainer, _ handle: OpaquePointer?, _ body: () throws -> R) throws -> R {
        let reentrant = trainer.isRunning
        defer { if !reentrant { stx_stop_board_clear(UInt(bitPattern: handle)) } }
        return try body()
    }

    static func unregister(_ handle: OpaquePointer?) {
        guard let handle else { return }
        stx_stop_board_remove(UInt(bitPattern: handle))
    }

    /// Leaves a request for the trainer behind `handle`; false when there is none.
    static func request(_ handle: OpaquePointer?, save: Bool) -> Bool {
        guard let handle else { return false }
        if stx_stop_board_request(UInt(bitPattern: handle), save ? 2 : 1) == 0 { return true }
        // Not on the board: a freed or foreign handle, unless the board once ran out of slots
        // (over 4096 live trainers), when the trainer may be one without a slot; only then is
        // the locked table asked (thread-safe, not async-signal-safe).
        guard stx_stop_board_overflowed() != 0,
              let t = try? Handle.get(handle, as: Trainer.self, "st_trainer_request_stop", "trainer") else { return false }
        t.requestStop(save: save)
        return true
    }
}
