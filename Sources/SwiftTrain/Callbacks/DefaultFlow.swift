extension Trainer {
    /// HF's DefaultFlowCallback: which steps and epochs log, evaluate, save and end training,
    /// decided from the arguments before any callback sees the event.
    func applyDefaultFlow(_ event: TrainerEvent) {
        switch event {
        case .stepEnd:
            let step = state.globalStep
            if step == 1 && args.loggingFirstStep { control.shouldLog = true }
            if args.loggingStrategy == .steps && step % state.loggingSteps == 0 { control.shouldLog = true }
            if args.evalStrategy == .steps && step % state.evalSteps == 0 && args.evalDelay <= Double(step) {
                control.shouldEvaluate = true
            }
            if args.saveStrategy == .steps && step % state.saveSteps == 0 { control.shouldSave = true }
            if step >= state.maxSteps {
                control.shouldTrainingStop = true
                if args.saveStrategy == .steps || args.saveStrategy == .epoch { control.shouldSave = true }  // HF: save at the end
            }
        case .epochEnd:
            if args.loggingStrategy == .epoch { control.shouldLog = true }
            if args.evalStrategy == .epoch && args.evalDelay <= state.epoch { control.shouldEvaluate = true }
            if args.saveStrategy == .epoch { control.shouldSave = true }
        default:
            break
        }
    }
}
