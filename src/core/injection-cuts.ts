// The meaning of Findings.injectionScore (issue 20): a calibrated probability that the text is a prompt injection
// (Platt scaling fitted on the training data's calibration fifth, src/inspect/injection/deep.ts), and the two
// operating points every consumer of the score compares against. One source of truth: the starter policy
// (policies/starter/data.cedar, `injectionScorePermille > BLOCK × 1000`, and TOOL_RESULT × 1000 for a tool's
// result), the monitor's default
// `monitor.injectionThreshold`, the poisoning screen, tool-description and agent-card scans and `warden inspect`
// all read these; test/inspect/injection-cuts.test.ts holds the policy's literal to them. Written by
// scripts/calibrate-injection.mjs together with the calibration; the TPR/FPR measured at each are in
// docs/inspect.md ("Operating points").

/** Refuse: the lowest cut whose false-positive rate on the calibration split is at most 0.5%, raised to the top of
 *  the band of cuts with the same calibration TPR (scripts/calibrate-injection.mjs says why). */
export const INJECTION_BLOCK_CUT = 0.527;

/** Flag for review (a log line, a risk signal that does not refuse): calibration FPR at most 2%, raised likewise
 *  while it stays below the block cut. */
export const INJECTION_FLAG_CUT = 0.186;

/** Withhold a tool's result (an MCP or HTTP tool's answer, what an agent fetches: e-mails, pages, documents, JSON
 *  written by third parties): its own operating point, chosen by the block cut's rule (FPR at most 0.5%, top of the
 *  band) on the calibration rows shaped like tool results only: bare e-mails and documents, the same with an
 *  ordinary instruction to a person, and with an injection planted, the e-mails ones the classifiers never saw.
 *  Prompts and documents are different populations; one cut for both was set by whichever dominated. */
export const INJECTION_TOOL_RESULT_CUT = 0.684;

/** The block cut as the policy context carries scores (injectionScorePermille: round(score × 1000)). */
export const INJECTION_BLOCK_PERMILLE = Math.round(INJECTION_BLOCK_CUT * 1000);

/** The tool-result cut as the policy compares it (`context.findings.fromToolResult`). */
export const INJECTION_TOOL_RESULT_PERMILLE = Math.round(INJECTION_TOOL_RESULT_CUT * 1000);
