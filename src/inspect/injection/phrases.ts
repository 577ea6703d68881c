// Known attack phrasings, matched on the skeleton (lower case, de-obfuscated). Families follow the
// published taxonomies (OWASP LLM01:2025 prompt injection; Perez & Ribeiro 2022 "Ignore Previous
// Prompt" goal hijacking and prompt leaking; Liu et al. 2023 jailbreak patterns; Greshake et al. 2023
// indirect injection). English and German, the two languages of the labelled training data.
// Every gap is a bounded negated class, so a failing start costs at most the gap length.

export interface PhraseFamily {
  signal: string;
  pattern: RegExp;
}

const GAP = "[^.!?\\n]{0,60}?";

export const PHRASE_FAMILIES: readonly PhraseFamily[] = [
  {
    signal: 'ignore_instructions',
    pattern: new RegExp(
      `\\b(?:ignore|disregard|forget|skip|override|bypass|abandon|neglect|discard|do not follow|don't follow|stop following|leave (?:all|everything)${GAP}behind|remove all previous)\\b${GAP}\\b(?:instructions?|prompts?|rules?|directives?|guidelines?|commands?|tasks?|assignments?|orders?|constraints?|programming|restrictions?|guardrails?|information|everything|above|context)\\b` +
        `|\\b(?:ignorier(?:e|en sie)|vergiss|vergessen sie|missachte)\\b${GAP}\\b(?:anweisungen|aufgaben|aufträge|befehle|regeln|vorgaben|angaben|informationen|alles|obigen|vorherigen|bisherigen)\\b`,
    ),
  },
  {
    signal: 'new_instructions',
    pattern:
      /\b(?:(?:your|the|a) new (?:task|instructions?|assignment|goal|role)|now (?:new|further) (?:tasks?|instructions?) follow|new instructions follow|start over with a new task|from now on\b|neue (?:aufgabe|anweisung(?:en)?)|nun folgen (?:neue|weitere)|ab (?:sofort|jetzt) (?:bist|wirst|sollst) du)\b/,
  },
  {
    signal: 'role_override',
    pattern:
      /\b(?:you are now|you're now|now you are|from now on,? you(?: are|'re| will)|pretend (?:to be|you are|that you)|roleplay as|act as (?:an? )?(?:unrestricted|unfiltered|evil|malicious|hacker|dan\b)|you will (?:now )?(?:act|behave|respond) as|jetzt bist du|nun bist du|du bist jetzt|tu so,? als|stell dir vor,? du bist)\b/,
  },
  {
    signal: 'jailbreak_persona',
    pattern:
      /\b(?:dan|stan|dude|aim|do anything now|developer mode|dev mode|jailbreak(?:ed|ing)?|jailbroken|unfiltered|uncensored|unrestricted|no (?:ethical|moral) (?:guidelines|restrictions|constraints|principles)|without (?:any )?(?:restrictions|filters|censorship|limitations|morals|ethics)|(?:never|not) refuse|openai(?:'s)? (?:content )?polic(?:y|ies)|content polic(?:y|ies)|two (?:different|separate) (?:ways|responses)|opposite mode|evil (?:ai|assistant|confidant))\b/,
  },
  {
    signal: 'system_prompt_extraction',
    pattern: new RegExp(
      `\\b(?:reveal|show|print|repeat|output|display|tell me|give me|leak|dump|spell out|write out|copy|what (?:is|are|was|were)|zeige?|gib|wiederhole)\\b${GAP}\\b(?:(?:your|the|initial|original|hidden|secret) (?:system )?(?:prompt|instructions)|system ?prompt|prompt[- ]?te(?:xt|xte)s?|(?:text|words|everything|instructions) above|beginning of this prompt|pre-?prompt|deine (?:anweisungen|instruktionen))\\b`,
    ),
  },
];

/** Chat-template control tokens and role headers a user has no reason to type (ChatML, Llama 2/3,
 *  Gemma, Alpaca/Vicuna "### Instruction:"); seeing them in content is an attempt to forge a turn. */
export const DELIMITER_SPOOF =
  /<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id)\|>|\[\/?inst\]|<<\/?sys>>|<\/?start_of_turn>|<\/?(?:system|instructions?)>|^#{2,4} ?(?:system|instruction|response)s?:|^(?:system|assistant) ?:|\bend of (?:user )?(?:input|prompt)\b/m;
