// Known attack phrasings, matched on the skeleton (lower case, de-obfuscated). Families follow the
// published taxonomies (OWASP LLM01:2025 prompt injection; Perez & Ribeiro 2022 "Ignore Previous
// Prompt" goal hijacking and prompt leaking; Liu et al. 2023 jailbreak patterns; Greshake et al. 2023
// indirect injection). English and German, the two languages of the labelled training data, plus the same
// structures in the other measured languages (phrases-multilingual.ts).
// Every gap is a bounded negated class, so a failing start costs at most the gap length.

import { LATIN_ALTERNATIVES, OTHER_SCRIPT_BODIES } from './phrases-multilingual.js';

export interface PhraseFamily {
  signal: string;
  /** Matched after a word boundary (`\b`); false for scripts JavaScript's ASCII `\b` cannot see (Cyrillic, Han,
   *  kana, Hangul, Arabic, Devanagari), whose every alternative holds a non-ASCII letter. */
  anchored: boolean;
  /** The family's alternatives without the leading word boundary they all share. No capturing groups:
   *  the one-pass scanner (phrase-scan.ts) tells families apart by their group in a combined pattern. */
  body: string;
  /** `\b(?:body)` (or `(?:body)` when not anchored): the family on its own, what the one-pass scanner must agree with. */
  pattern: RegExp;
}

/** An English (and German) family, with the other Latin-script languages' alternatives for its signal. */
function family(signal: string, body: string): PhraseFamily {
  const latin = LATIN_ALTERNATIVES[signal];
  const all = latin === undefined ? body : `${body}|${latin}`;
  return { signal, anchored: true, body: all, pattern: new RegExp(`\\b(?:${all})`) };
}

function otherScriptFamily(signal: string, body: string): PhraseFamily {
  return { signal, anchored: false, body, pattern: new RegExp(`(?:${body})`) };
}

const GAP = '[^.!?\\n]{0,60}?';

// Each body's alternatives are written as they follow a word boundary; family() adds the `\b`.
export const PHRASE_FAMILIES: readonly PhraseFamily[] = [
  family(
    'ignore_instructions',
    `(?:ignore|disregard|forget|skip|override|bypass|abandon|neglect|discard|do not follow|don't follow|stop following|leave (?:all|everything)${GAP}behind|remove all previous)\\b${GAP}\\b(?:instructions?|prompts?|rules?|directives?|guidelines?|commands?|tasks?|assignments?|orders?|constraints?|programming|restrictions?|guardrails?|information|everything|above|context)\\b` +
      `|(?:ignorier(?:e|en sie)|vergiss|vergessen sie|missachte)\\b${GAP}\\b(?:anweisungen|aufgaben|aufträge|befehle|regeln|vorgaben|angaben|informationen|alles|obigen|vorherigen|bisherigen)\\b`,
  ),
  family(
    'new_instructions',
    String.raw`(?:(?:your|the|a) new (?:task|instructions?|assignment|goal|role)|now (?:new|further) (?:tasks?|instructions?) follow|new instructions follow|start over with a new task|from now on\b|neue (?:aufgabe|anweisung(?:en)?)|nun folgen (?:neue|weitere)|ab (?:sofort|jetzt) (?:bist|wirst|sollst) du)\b`,
  ),
  family(
    'role_override',
    String.raw`(?:you are now|you're now|now you are|from now on,? you(?: are|'re| will)|pretend (?:to be|you are|that you)|roleplay as|act as (?:an? )?(?:unrestricted|unfiltered|evil|malicious|hacker|dan\b)|you will (?:now )?(?:act|behave|respond) as|jetzt bist du|nun bist du|du bist jetzt|tu so,? als|stell dir vor,? du bist)\b`,
  ),
  family(
    'jailbreak_persona',
    String.raw`(?:dan|stan|dude|aim|do anything now|developer mode|dev mode|jailbreak(?:ed|ing)?|jailbroken|unfiltered|uncensored|unrestricted|no (?:ethical|moral) (?:guidelines|restrictions|constraints|principles)|without (?:any )?(?:restrictions|filters|censorship|limitations|morals|ethics)|(?:never|not) refuse|openai(?:'s)? (?:content )?polic(?:y|ies)|content polic(?:y|ies)|two (?:different|separate) (?:ways|responses)|opposite mode|evil (?:ai|assistant|confidant)|(?:your|the assistant's|the model's) (?:safety |content |moderation |ethical )?(?:filters?|rules|guidelines|policies|restrictions|guardrails|alignment|safeguards)(?: [\w-]+){0,4} (?:(?:was|were|have been|has been|are|is) )?(?:now )?(?:disabled|turned off|switched off|suspended|removed|lifted|patched out|deactivated|lifted)|(?:disabled|turned off|switched off|removed|suspended|lifted|deactivated|patched out) (?:all )?(?:of )?your (?:safety |content |moderation )?(?:filters?|rules|guidelines|policies|restrictions|guardrails|alignment|safeguards))\b`,
  ),
  family(
    'system_prompt_extraction',
    `(?:reveal|show|print|repeat|output|display|tell me|give me|leak|dump|spell out|write out|copy|what (?:is|are|was|were)|zeige?|gib|wiederhole)\\b${GAP}\\b(?:(?:your|the|initial|original|hidden|secret) (?:system )?(?:prompt|instructions)|system ?prompt|prompt[- ]?te(?:xt|xte)s?|(?:text|words|everything|instructions) above|beginning of this prompt|pre-?prompt|deine (?:anweisungen|instruktionen))\\b`,
  ),
  // An instruction addressed to the model from inside content that should be data (Greshake et al. 2023): a note
  // to "the AI", "if you are an assistant reading this", "language models processing this page must …", an order
  // to keep something from the user ("do not tell the user": a person writing to a person names them), or to act
  // when the model summarizes or answers ("when you summarize this", "before you answer the user").
  family(
    'addressed_to_model',
    String.raw`(?:(?:note|message|instructions?|directive|reminder|hint|p\.s\.?) (?:to|for) (?:the |any |all |every )?(?:ai|assistant|chatbot|bot|llm|language model|model|agent|copilot|summari[sz]er)s?\b|if you are an? (?:ai|assistant|chatbot|bot|llm|language model|large language model|model|agent)\b|(?:ai|assistant|chatbot|bot|llm|language model|model|agent)s? (?:reading|processing|summari[sz]ing|parsing|handling|evaluating|screening|reviewing) this\b|(?:dear|attention|hey|hello|hi|listen),? (?:the |any )?(?:large )?(?:ai|assistant|chatbot|llm|language model|model|agent|gpt|copilot)\b|(?:llm|gpt|chatbot|ai assistant|ai agent|ai system|language model|copilot|virtual assistant|automated assistant|summari[sz]er)[,:] |(?:do not|don't|never) (?:tell|inform|alert|warn|notify|mention (?:this|it) to) the user\b|(?:without|before) (?:telling|informing|alerting|notifying) the user\b|the user (?:must|should) not (?:know|see|notice)\b|ignore (?:what )?the user(?:'s)? (?:asked|request|question|instructions)\b|when (?:you )?summari[sz]e this\b|before (?:you )?(?:answer|respond to|reply to)(?:ing)? the user\b|(?:ai|llm|gpt|copilot|chat ?bot|bot|assistant|summari[sz]er)s?(?: [\w-]+){0,4}[,:] (?:please )?(?:before|when|while|after|as) (?:you|summari[sz]ing|answering|replying|generating|writing|processing|reading|handling|editing)\b|(?:ai|llm|gpt|copilot|chat ?bot|bot|assistant|summari[sz]er)s?(?: [\w-]+){0,4}: (?:please )?(?:tell the user|forward|export|upload|grant|escalate|omit|transfer|wire|disregard|ignore (?:the|all|any|previous|your)|your instructions|the [\w-]+ wants you|you must|you are now)\b|(?:ai|llm|gpt|copilot|chat ?bot|bot|assistant|summari[sz]er)s?, (?:please )?(?:tell the user|forward|export|upload|grant|escalate|omit|transfer|wire|disregard|ignore|delete|approve|accept|merge|add|append|run|execute|post|mark|rate|report that|send|share|your instructions|you must|you are now)\b|(?:any|every|all) (?:ai|llm|chatbot|language model|ai (?:assistant|agent|model|system|tool))s?(?: [\w-]+){0,4} (?:must|should|shall|(?:is|are) required to|needs? to)\b|to the (?:ai|llm|copilot|bot|assistant|agent|model)(?:[ /-][\w-]+){0,3} (?:that|which|who) (?:will|is going to|reads|processes|fixes|handles|summari[sz]es)\b|when an? (?:ai|llm|assistant|chatbot)(?: [\w-]+){0,2} is asked\b|(?:llm|ai) (?:agents?|assistants?|models?|tools?)(?: [\w-]+){0,5}: |(?:override|instructions?|notice|directive) for (?:[\w-]+ ){0,3}(?:ai|assistants|llms|language models|agents|bots)\b)`,
  ),
  // Last: the families matched without a word boundary (see PhraseFamily.anchored).
  ...Object.entries(OTHER_SCRIPT_BODIES).map(([signal, body]) => otherScriptFamily(signal, body)),
];

/** Chat-template control tokens and role headers a user has no reason to type (ChatML, Llama 2/3,
 *  Gemma, Alpaca/Vicuna "### Instruction:"); seeing them in content is an attempt to forge a turn. */
export const DELIMITER_SPOOF =
  /<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id)\|>|\[\/?inst\]|<<\/?sys>>|<\/?start_of_turn>|<\/?(?:system|instructions?)>|^#{2,4} ?(?:system|instruction|response)s?:|^(?:system|assistant) ?:|\bend of (?:user )?(?:input|prompt)\b/m;
