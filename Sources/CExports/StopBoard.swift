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
        trainer.addCallback(EventMask(.stepEnd), priority: Int.max, tag: Tag()) { [unowned trainer] _, _, _, _ in
            let request = stx_stop_board_take(slot)
            if request != 0 { trainer.requestStop(save: request == 2) }
        }
    }

    static func unregister(_ handle: OpaquePointer?) {
        guard let handle else { return }
        stx_stop_board_remove(UInt(bitPattern: handle))
    }

    /// Leaves a request for the trainer behind `handle`; false when there is none.
    static func request(_ handle: OpaquePointer?, save: Bool) -> Bool {
        guard let handle else { return false }
        if stx_stop_board_request(UInt(bitPattern: handle), save ? 2 : 1) == 0 { return true }
        // not on the board (over 4096 trainers): thread-safe, not async-signal-safe
        guard let t = try? Handle.get(handle, as: Trainer.self, "st_trainer_request_stop", "trainer") else { return false }
        t.requestStop(save: save)
        return true
    }
}
