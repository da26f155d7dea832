import _CSupport

/// Releases autograd graphs iteratively: a tensor being freed hands its node to this
/// thread's queue, and only the outermost release drains it, so freeing a node's inputs (and
/// theirs) never nests deeper than one level.
final class GraphRelease {
    private var nodes: [GradNode] = []
    private var draining = false

    /// Moves `node` (a dying tensor's gradFn) into the queue and, unless a drain is already
    /// running on this thread, releases everything it leads to.
    static func take(_ node: inout GradNode?) {
        let queue = current
        queue.nodes.append(node!)
        node = nil  // the queue holds the only reference this tensor had
        guard !queue.draining else { return }
        queue.draining = true
        while let next = queue.nodes.popLast() { _ = next }  // freeing `next` may append more
        queue.draining = false
    }

    private static var current: GraphRelease {
        if let raw = stx_release_queue() { return Unmanaged<GraphRelease>.fromOpaque(raw).takeUnretainedValue() }
        let queue = GraphRelease()
        stx_set_release_queue(Unmanaged.passRetained(queue).toOpaque()) { raw in
            Unmanaged<GraphRelease>.fromOpaque(raw!).release()
        }
        return queue
    }
}
