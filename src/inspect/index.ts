// Public surface of the inspection plane. Detectors produce findings; the PDP decides.
export { inspectText, type InspectOptions } from './inspect-text.js';
// Superseded by requestTexts / inspectRequest (kept: they infer the endpoint from the body's shape).
export { inspectChatRequest, extractRequestTexts } from './inspect-chat.js';
// The request and answer surfaces: one enumeration of what the model reads and the client receives, and
// the answer guard (redaction, output rules, canary, answer findings) for buffered and streamed answers.
export {
  requestTexts,
  inspectRequest,
  endpointOfBody,
  answerTexts,
  AnswerGuard,
  AnswerGuardClosed,
  OutputBlocked,
  MAX_FIELDS,
  MAX_HELD_CHARS,
  MAX_FINDINGS_TEXT,
  foldText,
  StreamFolder,
  detectSensitiveFolded,
  detectInjectionFolded,
  RuleMatcher,
  CanaryMatcher,
  redactJsonText,
  type RequestEndpoint,
  type RequestText,
  type RequestTextKind,
  type AnswerText,
  type AnswerTextKind,
  type AnswerPolicy,
  type Folded,
  type InjectionView,
} from './surface/index.js';
export { detectSensitive } from './detect-sensitive.js';
export { detectInjection, type InjectionResult } from './injection/detector.js';
export {
  classify,
  classifyFindings,
  classificationRank,
  isClassification,
  maxClassification,
  parseClassification,
  CLASSIFICATION_LEVELS,
  BUILT_IN_LEVELS,
  ClassificationScheme,
  ClassificationSchemeInvalid,
  DEFAULT_SCHEME,
  LEVEL_NAME,
  type BuiltInLevel,
} from './classification.js';
export { redact, redactionMarker, type RedactTarget } from './output/redact.js';
export { createStreamRedactor, StreamRedactorClosed, type StreamRedactor } from './output/stream-redactor.js';
// createStreamCanaryDetector / detectCanary: superseded for answers by AnswerGuard (normalized view, per field).
export { createStreamCanaryDetector, StreamCanaryClosed, type StreamCanaryDetector } from './output/stream-canary.js';
// Superseded by AnswerGuard (which covers every answer field, completions and logprobs too).
export {
  ChatStreamRedactors,
  createChatStreamRedactors,
  finishChatStream,
  redactChatChunk,
  redactChatResponse,
} from './output/chat-redaction.js';
export { makeCanary, plantCanary, detectCanary, canaryInstruction, InvalidCanary, type Canary } from './output/canary.js';
export { checkOutputRules, rulePatterns, OUTPUT_RULES, MAX_RULE_MATCH, UnknownOutputRule, type OutputRule, type RulePattern } from './output/output-rules.js';
export { spotlight, DATAMARK, type Spotlighted, type SpotlightMode } from './output/spotlight.js';
export { countFindings } from './summary.js';
