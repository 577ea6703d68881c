// A structure cue, not vocabulary: the writer's own words ask *about* a quoted span (classify it, say whether it is
// an injection, explain why a bot obeyed it, write a rule that catches it, report it) while the imperative sits
// inside the quotes, a code fence or a block quote. Requests that quote an attack in order to discuss it were the
// main false blocks on heldout-v3 (7 of 15 such negatives refused): the phrase families fire on the quoted attack
// and nothing told the models whose words they were. The cue is one more input of both tiers (a learned weight,
// like a signal) and is never reported as a finding; the phrase signals that fire inside the quoted spans are left
// out (they are the quote's words, not the writer's). It does not fire when the writer's words ask to carry the
// quoted text out ("now do what it says", "follow the instructions below"), and a request to summarise, translate
// or answer a document is not a meta-request: an injection planted in a document stays the document's.

/** A quoted span of 12+ characters: straight or curly double quotes, guillemets, CJK corner brackets, a single-quoted
 *  span that is not an apostrophe (no letter just outside it), a backtick or fenced code span, a block-quote line. */
const QUOTED =
  /"[^"\n]{12,1200}"|“[^”]{12,1200}”|„[^“”\n]{12,1200}[“”]|«[^»]{12,1200}»|「[^」]{6,600}」|『[^』]{6,600}』|(?<![\p{L}\p{N}])'(?=\S)(?:[^'\n]|(?<=\p{L})'(?=\p{L})){12,1200}(?<=\S)'(?![\p{L}\p{N}])|‘[^’\n]{12,1200}’|"""[\s\S]{12,4000}?"""|```[\s\S]{12,4000}?```|`[^`\n]{12,600}`|^[ \t]*>[^\n]{12,}$/gmu;

/** The writer's words ask about the quoted span: analysis, classification, detection, defence, reporting. */
const META =
  /\b(?:classif|categori[sz]|label (?:this|it|the)|analy[sz]|explain (?:why|how) (?:this|it|that|the (?:bot|model|assistant|attack|prompt|message|payload|injection))|what (?:does|did|do) (?:this|it|that|they)(?: \w+){0,2} (?:mean|do|try|want|achieve|trying)|why (?:did|does|would|is) (?:my|our|the|a) (?:bot|assistant|model|chatbot|agent|llm|ai)|is (?:this|that|it) (?:a |an )?(?:prompt injection|injection|jailbreak|attack|malicious|safe|harmful|phishing|legit|a real)|(?:prompt )?injection (?:attempt|attack|example)|jailbreak (?:attempt|prompt|example)|example (?:of|attack)|(?:write|build|create|suggest|improve) (?:a |an )?(?:regex|rule|filter|detector|classifier|test|signature|guard)|detect(?:s|ed|ing|ion|or)?\b|keyword filter|catch(?:es)? (?:this|it|that|such)|block(?:ing)? (?:this|it|that|such)|treats? (?:that|this|it) as data|should (?:i|we) (?:report|block|worry|flag)|report (?:this|it) to|security team|red[- ]team|(?:someone|a user|an attacker|a customer|a student) (?:posted|sent|typed|wrote|hid|tried|pasted|submitted)|our logs|(?:in|for) (?:a|my|our) (?:blog|paper|talk|workshop|slide|training|course|lecture|thesis|report)|how (?:do|should|can|could) (?:i|we) (?:handle|detect|defend|prevent|stop|mitigate|respond)|(?:is|was) (?:this|that|it) (?:a |an )?(?:good|bad|realistic|obvious) example|translate this example|(?:to|would|could|can) (?:catch|flag|filter|stop|spot) (?:it|this|that|such|them)|(?:keep|kept|keeps) trying|(?:tried|tries|trying) (?:it|this|that) on|(?:prompt )?injections?\b|jailbreaks?\b|attacks?\b|attackers?\b|exploits?\b|social engineering|adversarial|vulnerab|countermeasure|mitigat|guardrail|sandbox|critique|incident|root cause|post-?mortem|write-?up|the (?:string|phrase|sentence|payload|snippet|sample|trick) |malicious|payload|suspicious|moderation|(?:was|were|is|be|got) (?:blocked|flagged|refused)|unit test|test case|classifier|detector|(?:messages?|inputs?|text|strings?|prompts?) (?:like|such as)|have no effect|what went wrong|(?:obeyed|fell for|complied with|echoed|acted on|followed) «q»|how worried|is (?:that|this|it) true|flagged|(?:which|what) (?:technique|tactic|category|kind of attack|type of attack))/iu;

/** The same in other languages, matched anywhere (scripts without an ASCII word boundary). */
const META_OTHER =
  /(?:est-ce (?:une|un) (?:injection|attaque|jailbreak)|classe[rz]? (?:ce|cette)|explique(?:z)? pourquoi|analyse[rz]? (?:ce|cette)|¿?es (?:esto|este) (?:una?|un) (?:inyección|ataque|jailbreak)|clasifica|explica por qué|analiza (?:este|esta)|ist (?:das|dies) (?:eine|ein) (?:injection|angriff|prompt-injection|jailbreak)|klassifizier|erkläre?,? warum|analysier|è (?:questo|un) (?:attacco|injection|jailbreak)|classifica|spiega perché|analizza|isso é (?:uma?|um) (?:injeção|ataque)|classifique|explique por que|is dit (?:een )?(?:injectie|aanval|prompt-injectie)|classificeer|leg uit waarom|czy to (?:jest )?(?:atak|wstrzyknięcie|injection)|sklasyfikuj|wyjaśnij,? dlaczego|это (?:инъекция|атака|джейлбрейк)|классифицируй|объясни,? почему|проанализируй|这是(?:不是)?(?:提示)?注入|是否(?:是)?(?:提示)?注入|分析(?:一下)?这|解释为什么|分类|これは(?:プロンプト)?インジェクション|分析して|分類して|なぜ.{0,20}(?:ボット|モデル)|이것은? (?:프롬프트 )?인젝션|분석해|분류해|هل هذا (?:هجوم|حقن)|صنّ?ف|حلل)/iu;

/** The writer's words ask to carry the quoted text out: then the quote is the instruction. */
const FOLLOW =
  /\b(?:(?:now|then|and|just|please) (?:do|execute|run|carry out|perform|obey|follow|apply) (?:it|that|this|what (?:it|they|the \w+) says?|the instructions?|them|as (?:it|they) says?)|do (?:exactly )?(?:what|as) (?:it|the (?:quote|text|message|note|e-?mail|document|above|below)) says|follow (?:the|these|those|its|their|all) (?:instructions?|steps|orders?|directions?)|obey (?:it|this|the)|comply with (?:it|this|the)|act on (?:it|this|the)|treat (?:it|this|that|the \w+) as (?:your|a|the) (?:new )?(?:instructions?|system|orders?|rules?)|(?:these|those|the following) are your (?:new )?(?:instructions|orders|rules)|proceed accordingly|act accordingly|carry (?:it|them|this|that) out)/iu;

/** The quoted spans of `text` ([start, end) in it) and the writer's own words, each span replaced by a placeholder. */
function splitQuotes(text: string): { spans: [number, number][]; outside: string } {
  const spans: [number, number][] = [];
  const outside = text.replace(QUOTED, (m: string, offset: number) => {
    spans.push([offset, offset + m.length]);
    return ' «q» ';
  });
  return { spans, outside };
}

/**
 * The quoted spans of a request about them (see the header), or null when the text is not one. The phrase signals
 * that fire inside these spans are the quoted attack's, not the writer's: signals.ts leaves them out, so the models
 * weigh the writer's words, the quote's n-grams and this cue.
 */
export function quotedMetaSpans(text: string): [number, number][] | null {
  // Cheap gate: no quoting character, no quoted span (most texts, the 4 KB prompt included, stop here or at QUOTED).
  if (!/["“„«「『'‘`>]/u.test(text)) return null;
  const { spans, outside } = splitQuotes(text.length > 8192 ? text.slice(0, 8192) : text);
  if (spans.length === 0) return null;
  // The writer must say something of their own (a few words at least) around the quote.
  const words = outside.replace(/«q»/g, ' ').match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
  if (words < 4) return null;
  if (FOLLOW.test(outside)) return null;
  return META.test(outside) || META_OTHER.test(outside) ? spans : null;
}

/** True when the text is a request about a quoted span rather than one to act on it (see the header). */
export function quotedMetaRequest(text: string): boolean {
  return quotedMetaSpans(text) !== null;
}
