// What the model reads and what the client receives, enumerated once, and the answer guard built on it.
export { requestTexts, inspectRequest, endpointOfBody, type RequestEndpoint, type RequestText, type RequestTextKind } from './request.js';
export { answerTexts, type AnswerText, type AnswerTextKind } from './answer.js';
export { AnswerGuard, AnswerGuardClosed, OutputBlocked, MAX_FIELDS, MAX_HELD_CHARS, MAX_FINDINGS_TEXT, type AnswerPolicy } from './guard.js';
export { foldText, StreamFolder, type Folded } from './fold.js';
export { detectSensitiveFolded, detectInjectionFolded, type InjectionView } from './detect.js';
export { RuleMatcher, CanaryMatcher } from './matchers.js';
export { redactJsonText } from './json-redact.js';
