import PlatformShims

/// Releases autograd graphs iteratively: a tensor being freed hands its node to this
/// thread's queue, and only the outermost release drains it, so freeing a node's inputs (and
/// theirs) never nests deeper than one level.
final class GraphRelease {
    private var nodes: [GradNode] = []
    private var draining = false

    /// Moves `node` (a dying tensor's gradFn) into the queue and, unless a drain is already
    /// running on this thread, releases everything it leads to.
    static func take(_ node: inout GradNode?) {
        guard let queue = current else { return }  // no queue (no thread key left): released recursively
        queue.nodes.append(node!)
        node = nil  // the queue holds the only reference this tensor had
        guard !queue.draining else { return }
        queue.draining = true
        while let next = queue.nodes.popLast() { _ = next }  // freeing `next` may append more
        queue.draining = false
    }

    private static var current: GraphRelease? {
        if let raw = stx_release_queue() { return Unmanaged<GraphRelease>.fromOpaque(raw).takeUnretainedValue() }
        let queue = Unmanaged.passRetained(GraphRelease())
        let status = stx_set_release_queue(queue.toOpaque()) { raw in
            Unmanaged<GraphRelease>.fromOpaque(raw!).release()
        }
        guard status == 0 else {
            queue.release()
            return nil
        }
        return queue.takeUnretainedValue()
    }
}
