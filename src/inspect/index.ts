// Public surface of the inspection plane. Detectors produce findings; the PDP decides.
export { inspectText, type InspectOptions } from './inspect-text.js';
export { inspectChatRequest, extractRequestTexts, type RequestText } from './inspect-chat.js';
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
} from './classification.js';
export { redact, redactionMarker, type RedactTarget } from './output/redact.js';
export { createStreamRedactor, StreamRedactorClosed, type StreamRedactor } from './output/stream-redactor.js';
export { createStreamCanaryDetector, StreamCanaryClosed, type StreamCanaryDetector } from './output/stream-canary.js';
export {
  ChatStreamRedactors,
  createChatStreamRedactors,
  finishChatStream,
  redactChatChunk,
  redactChatResponse,
} from './output/chat-redaction.js';
export { makeCanary, plantCanary, detectCanary, canaryInstruction, InvalidCanary, type Canary } from './output/canary.js';
export { checkOutputRules, OUTPUT_RULES, UnknownOutputRule, type OutputRule } from './output/output-rules.js';
export { spotlight, DATAMARK, type Spotlighted, type SpotlightMode } from './output/spotlight.js';
export { countFindings } from './summary.js';
