#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of a progress bar (tqdm's look), rendered for a terminal of a given width or as
/// a plain line for a file:
///
///     train  42%|██████▎        | 567/1350 [00:01<00:02, 410.25it/s, loss=0.3124]
///     train  42% 567/1350 [00:01<00:02, 410.25it/s, loss=0.3124]
public struct ProgressLine: Sendable, Equatable {
    public var description: String
    /// Done so far, and the total (0: unknown).
    public var count: Int
    public var total: Int
    /// The counts done per second and the seconds since the start (the rate and the ETA).
    public var rate: Double
    public var elapsed: Double
    /// The current loss, shown when given and not NaN.
    public var loss: Double?

    public init(_ description: String, count: Int, total: Int, rate: Double, elapsed: Double, loss: Double? = nil) {
        (self.description, self.count, self.total, self.rate, self.elapsed, self.loss) = (description, count, total, rate, elapsed, loss)
    }

    static let blocks: [Character] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"]

    /// The line for a terminal `width` columns wide: at most `width - 1` characters, so the
    /// cursor never wraps (the bar shrinks, then goes, then the end is cut); nil: the plain line.
    public func render(width: Int?) -> String {
        let fraction = total > 0 ? Swift.min(Double(count) / Double(total), 1) : nil
        let percent = fraction.map { p -> String in
            let s = String(Int((p * 100).rounded(.down)))
            return String(repeating: " ", count: 3 - s.count) + s + "%"
        }
        let remaining = total > 0 && rate > 0 ? Self.clock(Double(Swift.max(total - count, 0)) / rate) : "?"
        let speed = rate > 0 ? Self.fixed(rate, 2) + "it/s" : "?it/s"
        var stats = "\(count)/\(total > 0 ? String(total) : "?") [\(Self.clock(elapsed))<\(remaining), \(speed)"
        if let loss, !loss.isNaN { stats += ", loss=\(Self.significant(loss))" }
        stats += "]"
        let head = description + (percent.map { " " + $0 } ?? "")
        guard let width else { return head + " " + stats }
        let limit = Swift.max(width - 1, 1)
        let left = head + "|", right = "| " + stats
        let cells = limit - left.count - right.count
        if let fraction, cells >= 4 {
            let eighths = Int((fraction * Double(cells * 8)).rounded(.down))
            let (filled, partial) = (eighths / 8, eighths % 8)
            var bar = String(repeating: "█", count: filled)
            if filled < cells { bar.append(Self.blocks[partial]) }
            return left + bar + String(repeating: " ", count: cells - bar.count) + right
        }
        let plain = head + " " + stats
        return plain.count <= limit ? plain : String(plain.prefix(limit))
    }

    /// "mm:ss", or "h:mm:ss" past an hour, as tqdm.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return "?" }
        let s = Int(seconds), (h, m, sec) = (s / 3600, s / 60 % 60, s % 60)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(two(m)):\(two(sec))"
    }

    /// `d` with `digits` decimals ("410.25").
    static func fixed(_ d: Double, _ digits: Int) -> String {
        guard d.isFinite, Swift.abs(d) < 1e15 else { return "\(d)" }
        var scale = 1
        for _ in 0..<digits { scale *= 10 }
        let units = Int((Swift.abs(d) * Double(scale)).rounded())
        let fraction = String(units % scale)
        return (d < 0 && units > 0 ? "-" : "") + "\(units / scale)"
            + (digits > 0 ? "." + String(repeating: "0", count: digits - fraction.count) + fraction : "")
    }

    /// 4 significant digits ("0.3124", "12.35", "1234"), as HF's logs.
    static func significant(_ d: Double) -> String {
        guard d.isFinite, d != 0 else { return d.isNaN ? "nan" : "\(d)" }
        var digits = 3, magnitude = Swift.abs(d)
        while magnitude >= 10 && digits > 0 { magnitude /= 10; digits -= 1 }
        while magnitude < 1 && digits < 12 { magnitude *= 10; digits += 1 }
        return fixed(d, digits)
    }
}

/// The library's progress bar (HF's ProgressCallback with tqdm's look), written by the core so
/// C and command-line users get it: on a terminal a bar redrawn in place with "\r" at most
/// every 0.1 s (rate, ETA and the current loss; truncated to the terminal's width, never
/// wrapping), and an evaluation bar over it while the model is evaluated; on anything else
/// (a file, a pipe) plain lines, one per tenth of training and one per evaluation, never a
/// carriage return; a final line when training ends. Register with
/// `trainer.addCallback(ProgressBar.events, priority: ProgressBar.priority, bar.callback)`.
/// The library never adds it by itself: a C library does not print unasked.
public final class ProgressBar {
    public static let events = EventMask([.init(.trainBegin), .init(.stepEnd), .init(.evaluateBegin), .init(.predictBegin),
                                          .init(.predictionStep), .init(.evaluate), .init(.predict), .init(.trainEnd),
                                          .init(.close)])
    /// After the other callbacks, before the loggers (MetricsLogger.priority).
    public static let priority = Int.max - 1
    /// Plain lines per training.
    public static let plainLines = 10

    public let fd: Int32
    public let isTerminal: Bool
    private let width: Int?
    private var training: (start: Double, firstStep: Int, total: Int, step: Int, loss: Double)?
    private var evaluation: (start: Double, done: Int, total: Int)?
    private var drawn = false
    private var lastDraw = -Double.infinity
    private var lastPlainStep = -1

    /// A bar writing to the file descriptor `fd` (2: stderr); `terminal` and `width` default to
    /// what the descriptor is (isatty, its window size, else $COLUMNS, else 80).
    public init(fd: Int32, terminal: Bool? = nil, width: Int? = nil) throws {
        guard fd >= 0, fcntl(fd, F_GETFD) != -1 else {
            throw SwiftTrainError.invalid("ProgressBar: \(fd) is not an open file descriptor; pass 2 for stderr")
        }
        if let width, width < 2 { throw SwiftTrainError.invalid("ProgressBar: width \(width) must be at least 2") }
        self.fd = fd
        isTerminal = terminal ?? (isatty(fd) == 1)
        self.width = width
    }

    /// The callback to register (see the type's documentation).
    public var callback: TrainerCallback {
        { [self] event, state, _, _ in handle(event, state) }
    }

    /// Runs `body` (which prints a line of its own to the same terminal) with the bar erased,
    /// then redraws it, so lines land above the bar, as tqdm.write.
    public func printAbove(_ body: () -> Void) {
        if isTerminal && drawn { put("\r\u{1B}[K") }
        body()
        if isTerminal && drawn { draw(force: true) }
    }

    func handle(_ event: TrainerEvent, _ state: TrainerState) {
        guard state.isWorldProcessZero else { return }  // (data-parallel: process 0 shows progress)
        let now = monotonicSeconds()
        switch event {
        case .trainBegin:
            training = (now, state.globalStep, state.maxSteps, state.globalStep, state.loss)
            lastPlainStep = state.globalStep
            if isTerminal { draw(force: true) }
        case .stepEnd:
            guard var t = training else { return }
            (t.step, t.loss) = (state.globalStep, state.loss)
            training = t
            if isTerminal {
                draw(force: t.step >= t.total)
            } else {
                let every = Swift.max(1, (t.total + Self.plainLines - 1) / Self.plainLines)
                if t.step % every == 0 && t.step < t.total && t.step != lastPlainStep {
                    lastPlainStep = t.step
                    put(trainingLine(now).render(width: nil) + "\n")
                }
            }
        case .evaluateBegin, .predictBegin:
            evaluation = (now, 0, 0)
        case .predictionStep:
            guard var e = evaluation else { return }
            (e.done, e.total) = (e.done + 1, state.evalBatches)
            evaluation = e
            if isTerminal { draw(force: e.done == e.total) }
        case .evaluate, .predict:
            guard let e = evaluation else { return }
            evaluation = nil
            if isTerminal {
                if training == nil {  // a standalone evaluation: its bar stays
                    if drawn { put("\n") }
                    drawn = false
                } else {
                    draw(force: true)
                }
            } else {
                let line = evaluationLine(e, now)
                put(line.render(width: nil) + "\n")
            }
        case .trainEnd:
            guard training != nil else { return }
            if isTerminal {
                draw(force: true)
                put("\n")
                drawn = false
            } else {
                put(trainingLine(now).render(width: nil) + "\n")
            }
            training = nil
        case .close:
            if isTerminal && drawn { put("\n") }  // an error ended training: its message starts a line
            (drawn, training, evaluation) = (false, nil, nil)
        default:
            break
        }
    }

    private func trainingLine(_ now: Double) -> ProgressLine {
        let t = training!, elapsed = now - t.start
        return ProgressLine("train", count: t.step, total: t.total, rate: elapsed > 0 ? Double(t.step - t.firstStep) / elapsed : 0,
                            elapsed: elapsed, loss: t.step > t.firstStep ? t.loss : nil)
    }

    private func evaluationLine(_ e: (start: Double, done: Int, total: Int), _ now: Double) -> ProgressLine {
        let elapsed = now - e.start
        return ProgressLine("eval", count: e.done, total: e.total, rate: elapsed > 0 ? Double(e.done) / elapsed : 0, elapsed: elapsed)
    }

    /// Redraws the current line (the evaluation's while one runs) when 0.1 s passed or `force`.
    private func draw(force: Bool) {
        let now = monotonicSeconds()
        guard force || now - lastDraw >= 0.1 else { return }
        let line: ProgressLine
        if let e = evaluation { line = evaluationLine(e, now) } else if training != nil { line = trainingLine(now) } else { return }
        lastDraw = now
        drawn = true
        put("\r" + line.render(width: width ?? terminalWidth()) + "\u{1B}[K")
    }

    private func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 1 { return Int(size.ws_col) }
        if let columns = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), columns > 1 { return columns }
        return 80
    }

    /// Writes everything (a progress bar that cannot write does not stop training).
    private func put(_ text: String) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }
}
