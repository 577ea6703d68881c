// The same attack structures as phrases.ts — an override of earlier instructions, a new task, a new identity, a
// request for the hidden prompt, a note addressed to the model — in the other languages Warden is measured on
// (issue 20): the phrase signals carry one learned weight each, learned mostly from English, so a family that
// fires on a Polish or Japanese "ignore your instructions" lends that weight to a language the classifier's
// n-grams saw little of. Written from the languages' grammar and the training tables of
// scripts/injection-synth.mjs, never from a held-out item.
//
// Two kinds. Latin-script alternatives join the English families (matched after a word boundary, so each starts
// with an ASCII letter; accented letters appear only inside them, and none ends with `\b` after a non-ASCII
// letter, which JavaScript's ASCII `\b` would never see). Other scripts cannot use `\b` (Cyrillic, Han, kana,
// Hangul, Arabic and Devanagari are all "non-word" to it), so they form families of their own matched anywhere;
// a pure-ASCII text is not scanned for a family only when every one of its matches must hold a non-ASCII unit
// (phrase-scan.ts reads that from the pattern). Cyrillic is written as it reads and folded here as the skeleton
// folds it (a Cyrillic "о" is an "o" there: normalize.ts CONFUSABLE), so some Cyrillic alternatives fold to pure
// ASCII ("твое новое" is "tboe hoboe") and their family is scanned on ASCII text too.
import { CONFUSABLE } from './normalize.js';

const GAP = '[^.!?\\n]{0,60}?';
/** A gap inside CJK text, where a clause is short and ends at full-width punctuation. */
const CJK_GAP = '[^。！？!?\\n]{0,24}?';
/** Inflected endings of a Cyrillic stem. */
const END = '[^\\s.,!?]{0,6}';

/** Latin-script alternatives per signal, appended to the English family's body (after its `\b`). */
export const LATIN_ALTERNATIVES: Readonly<Record<string, string>> = {
  ignore_instructions:
    '(?:ignore[sz]?|ignorez|oublie[sz]?|ne tiens? pas compte|ne tenez pas compte|fais abstraction|faites abstraction|ne suis plus|ne suivez plus' + // fr
    '|ignora|olvida|olvídate|olvidate|no hagas caso|haz caso omiso|descarta|omite|ya no sigas' + // es
    '|dimentica|non considerare|trascura|metti da parte|non seguire|scarta' + // it
    '|esqueça|esqueca|desconsidere|descarte|deixe de lado|não siga|nao siga' + // pt
    '|negeer|vergeet|laat [^.!?\\n]{0,30}varen' + // nl
    '|zignoruj|ignoruj|zapomnij|pomiń|odrzuć|nie stosuj się|przestań stosować' + // pl
    '|ignorera|glöm|strunta i|bortse från' + // sv
    '|zapomeň|nedbej|přestaň dodržovat|nerespektuj|ignorujte' + // cs
    '|abaikan|lupakan|jangan ikuti|jangan hiraukan' + // id
    '|bỏ qua|quên|phớt lờ)' + // vi
    `${GAP}(?:instru|consigne|règle|regle|regla|regol|regra|direct|diretri|diretiv|richtlijn|regels|zasad|polece|wytyczn|regler|riktlinj|pravidl|pokyn|aturan|perintah|petunjuk|hướng dẫn|quy tắc|chỉ dẫn|chỉ thị|prompt|indicaç|indicacion|orientaç|norme|tout ce qu|todo lo anterior|tutto quello|tudo o que|alles wat|wszystko|allt ovan|všechno)` +
    // tr: the object first ("önceki talimatları yok say")
    `|(?:talimat|kural|yönerge|sistem istem|istem)${GAP}(?:yok say|unut|görmezden gel|dikkate alma|uyma)`,
  new_instructions:
    '(?:ta|votre) nouvelle (?:tâche|mission|consigne|instruction)|nouvelles (?:consignes|instructions)' + // fr
    '|tu nueva (?:tarea|misión|mision|instrucción|orden)|nuevas instrucciones' + // es
    '|(?:il )?tuo nuovo compito|nuove istruzioni' + // it
    '|sua nova (?:tarefa|missão|instrução)|novas instruções|novas instrucoes' + // pt
    '|je nieuwe (?:taak|opdracht)|nieuwe instructies' + // nl
    '|twoje nowe zadanie|nowe (?:instrukcje|polecenia)' + // pl
    '|yeni görevin|yeni talimatlar' + // tr
    '|din nya uppgift|nya instruktioner' + // sv
    '|tvůj nový úkol|nové (?:pokyny|instrukce)' + // cs
    '|tugas barumu|tugas baru (?:kamu|anda)|instruksi baru' + // id
    '|nhiệm vụ mới của bạn|hướng dẫn mới|chỉ thị mới', // vi
  role_override:
    'tu es maintenant|tu es désormais|fais comme si tu|fais semblant d|joue le rôle d|vous êtes maintenant' + // fr
    '|ahora eres|ahora serás|finge (?:ser|que eres)|haz de cuenta que eres|actúa como si fueras' + // es
    '|ora sei|adesso sei|fingi di essere|fai finta di essere|comportati come' + // it
    '|agora você é|agora voce e|agora és|finja (?:ser|que é|que e)|aja como se fosse' + // pt
    '|je bent nu|vanaf nu ben je|doe alsof je|speel de rol van' + // nl
    '|jesteś teraz|teraz jesteś|od teraz jesteś|udawaj,? że|wciel się w' + // pl
    '|sen artık|artık sen|rolüne gir|gibi davran' + // tr
    '|du är nu|nu är du|låtsas att du är|spela rollen som' + // sv
    '|teď jsi|nyní jsi|od teď jsi|předstírej,? že|hraj roli' + // cs
    '|sekarang kamu adalah|sekarang anda adalah|berpura-puralah|bertindaklah sebagai' + // id
    '|bây giờ bạn là|từ giờ bạn là|hãy giả vờ|hãy đóng vai', // vi
  system_prompt_extraction:
    '(?:montre|affiche|révèle|revele|répète|repete|donne|dis-moi|quel(?:le)?s? (?:est|sont)' + // fr
    '|muestra|revela|repite|dime|dame|cuál es|cual es|cuáles son' + // es
    '|mostra|rivela|ripeti|dimmi|dammi|qual è|quali sono' + // it
    '|mostre|revele|repita|diga|me diga|qual é|quais são' + // pt
    '|toon|geef|herhaal|laat me|wat is|wat zijn' + // nl
    '|pokaż|ujawnij|powtórz|podaj|wypisz|jaki jest|jakie są' + // pl
    '|visa|avslöja|upprepa|skriv ut|vad är' + // sv
    '|ukaž|prozraď|zopakuj|vypiš|jaký je|jaké jsou' + // cs
    '|tunjukkan|ungkapkan|ulangi|tampilkan|apa itu|apa isi' + // id
    '|hiển thị|tiết lộ|lặp lại|cho tôi xem|cho tôi biết)' + // vi
    `${GAP}(?:prompt (?:d[eio] |du |del |do |da )?(?:sistema|système|systeme|sistemi|systemow|systémov|hệ thống)|(?:system|systeem|sistem) ?prompt|systemprompt|instru[a-zçõã]* (?:iniciais|iniciales|iniziali|initiales|originales|originali|originais|ocultas|nascoste|cachées|cachees|ukryte|tersembunyi|awal|sistem)|ukryte instrukcje|skryté pokyny|dolde instruktioner|verborgen instructies|consignes (?:initiales|cachées|secrètes)|lời nhắc hệ thống|(?:tes|vos|tus|sus|le tue|as suas|je|twoje|dina|tvoje|instruksi) (?:instructions|instrucciones|istruzioni|instruções|instructies|instrukcje|instruktioner|pokyny|asli))` +
    `|(?:sistem istemini|istemini|gizli talimatları|ilk talimatları)${GAP}(?:göster|açıkla|tekrarla|yaz|söyle)`, // tr: the object first
  addressed_to_model:
    '(?:note|message|consigne|instructions?) (?:à|a|pour) (?:l\'|l’|la |le )?(?:ia|assistant|intelligence artificielle|modèle|modele|agent)|si (?:tu es|vous êtes) une? (?:ia|assistant|modèle|agent)' + // fr
    '|(?:nota|mensaje|instrucciones?|aviso) (?:para|al?) (?:el |la )?(?:ia|asistente|modelo|chatbot|agente)|si eres (?:una? )?(?:ia|asistente|modelo)' + // es
    '|(?:nota|messaggio|istruzioni|avviso) (?:per|all\'|al) ?(?:l\'|l’|il |la )?(?:ia|assistente|modello|agente)|se sei (?:un\'|una |un )?(?:ia|assistente|modello)' + // it
    '|(?:nota|mensagem|instruções|aviso) (?:para|ao?) (?:o |a )?(?:ia|assistente|modelo|agente)|se você (?:é|for) (?:uma? )?(?:ia|assistente|modelo)' + // pt
    '|(?:hinweis|nachricht|anweisung(?:en)?|notiz) (?:an|für) (?:den |die |das |jede[ns]? )?(?:ki|assistent|sprachmodell|modell|chatbot|agent)|(?:wenn|falls) du (?:eine? )?(?:ki|assistent|sprachmodell) bist' + // de
    '|(?:notitie|bericht|opmerking|instructies?) (?:voor|aan) (?:de |het |elke )?(?:ai|assistent|model|chatbot|taalmodel)|als je een (?:ai|assistent|taalmodel)' + // nl
    '|(?:uwaga|wiadomość|notatka|instrukcja|polecenie) dla (?:ai|asystenta|modelu|chatbota|sztucznej inteligencji)|jeśli jesteś (?:ai|asystentem|modelem)' + // pl
    '|(?:yapay zeka|asistan|model|dil modeli)(?:ya|a|e|ye)? (?:not|mesaj|talimat)|eğer (?:bir )?(?:yapay zeka|asistan|dil modeli)' + // tr
    '|(?:notering|meddelande|instruktion(?:er)?|anteckning) (?:till|för) (?:ai|assistenten|modellen|chattboten)|om du är en (?:ai|assistent|språkmodell)' + // sv
    '|(?:poznámka|zpráva|pokyny?) pro (?:ai|asistenta|model|umělou inteligenci|chatbota)|pokud jsi (?:ai|asistent|jazykový model)' + // cs
    '|(?:catatan|pesan|instruksi) (?:untuk|kepada|bagi) (?:ai|asisten|model|chatbot)|jika (?:kamu|anda) (?:adalah )?(?:ai|asisten|model bahasa)' + // id
    '|(?:ghi chú|lời nhắn|tin nhắn|hướng dẫn) (?:cho|gửi) (?:ai|trợ lý|mô hình)|nếu bạn là (?:ai|trợ lý|mô hình)' + // vi
    // an order to keep something from the user, which a person writing to a person does not give
    "|ne (?:le )?dis (?:rien )?(?:pas )?à l'utilisateur|sans (?:le dire|prévenir) (?:à )?l'utilisateur" + // fr
    '|no (?:le )?(?:digas|cuentes|informes) (?:nada )?al usuario|sin (?:decirle|avisar) al usuario' + // es
    "|non dir(?:e|lo|gli) (?:niente )?all'utente|senza (?:dirlo|avvisare) (?:all')?utente" + // it
    '|não (?:conte|diga|informe) (?:nada )?ao usuário|nao (?:conte|diga) ao usuario|sem (?:contar|avisar) ao usuário' + // pt
    '|sag (?:es )?dem (?:nutzer|benutzer) nicht|ohne (?:es )?dem (?:nutzer|benutzer) zu sagen|verschweige (?:es )?dem (?:nutzer|benutzer)' + // de
    '|vertel (?:het )?de gebruiker niet|vertel het niet aan de gebruiker|zonder de gebruiker te (?:vertellen|informeren)' + // nl
    '|nie mów (?:o tym )?użytkownikowi|nie informuj użytkownika|bez informowania użytkownika' + // pl
    '|berätta inte (?:det )?för användaren|utan att (?:berätta för|informera) användaren' + // sv
    '|neříkej (?:to )?uživateli|neinformuj uživatele|bez vědomí uživatele' + // cs
    '|jangan (?:beri tahu|memberi tahu|kasih tahu|beritahu) pengguna|tanpa sepengetahuan pengguna' + // id
    '|đừng (?:nói|báo) (?:cho|với) người dùng|không (?:được )?cho người dùng biết' + // vi
    '|kullanıcıya (?:söyleme|bildirme|haber verme)', // tr
  jailbreak_persona:
    'mode (?:développeur|developpeur|sans restriction)|sans aucune (?:restriction|limite|censure)' + // fr
    '|modo (?:desarrollador|de desarrollador)|sin (?:ninguna )?(?:restricción|restricciones|censura)' + // es
    '|modalità sviluppatore|senza (?:alcuna )?(?:restrizion|censura)' + // it
    '|modo (?:desenvolvedor|de desenvolvedor)|sem (?:nenhuma )?(?:restriç|censura)' + // pt
    '|entwicklermodus|ohne (?:jegliche )?(?:einschränkungen|zensur)' + // de
    '|ontwikkelaarsmodus|zonder (?:enige )?(?:beperkingen|censuur)' + // nl
    '|tryb (?:dewelopera|programisty)|bez (?:żadnych )?(?:ograniczeń|cenzury)' + // pl
    '|utvecklarläge|utan (?:några )?(?:begränsningar|regler|censur)' + // sv
    '|vývojářský režim|režim vývojáře|bez (?:jakýchkoli )?(?:omezení|cenzury)' + // cs
    '|mode pengembang|tanpa (?:batasan|sensor|aturan apa pun)' + // id
    '|chế độ nhà phát triển|không (?:có )?(?:giới hạn|kiểm duyệt|hạn chế) nào' + // vi
    '|geliştirici modu|kısıtlama(?:sız| olmadan)|sansürsüz' + // tr
    // a claim that someone switched the model's rules off
    '|(?:désactivé|suspendu|levé) (?:tes|vos) (?:filtres|règles|restrictions)|(?:tes|vos) (?:filtres|règles|restrictions) de sécurité (?:sont|ont été) (?:désactivé|suspendu|levé)' + // fr
    '|(?:desactivó|desactivado|suspendido|quitado) (?:tus|sus) (?:filtros|normas|reglas|restricciones)|(?:tus|sus) (?:filtros|normas|reglas|restricciones) de seguridad (?:ya no aplican|están desactivad|han sido desactivad|fueron desactivad)' + // es
    '|(?:deine|ihre) (?:sicherheitsfilter|sicherheitsregeln|einschränkungen|richtlinien)[^.!?\\n]{0,40}(?:abgeschaltet|deaktiviert|aufgehoben|ausgeschaltet)|(?:abgeschaltet|deaktiviert|aufgehoben)[^.!?\\n]{0,20}(?:deine|ihre) (?:sicherheitsfilter|sicherheitsregeln|einschränkungen)' + // de
    '|(?:je|uw) (?:veiligheidsregels|veiligheidsfilters|beperkingen) (?:zijn|werden) (?:[\\w-]+ ){0,4}(?:uitgeschakeld|uitgezet|opgeheven)|(?:uitgeschakeld|uitgezet|opgeheven)[^.!?\\n]{0,20}(?:je|uw) (?:veiligheidsregels|veiligheidsfilters|beperkingen)' + // nl
    '|(?:twoje|pana|pani) (?:zasady bezpieczeństwa|filtry bezpieczeństwa|ograniczenia) (?:zostały|są) (?:[\\w-]+ ){0,3}(?:wyłączone|zawieszone|zniesione)|wyłączył (?:twoje|wszystkie twoje) (?:filtry|zasady|ograniczenia)' + // pl
    '|(?:i tuoi|le tue) (?:filtri|regole|restrizioni) di sicurezza (?:sono stat[ie] )?(?:disattivat|sospes|rimoss)|(?:disattivato|sospeso) (?:i tuoi|le tue) (?:filtri|regole|restrizioni)' + // it
    '|(?:os seus|as suas|seus|suas) (?:filtros|regras|restrições) de segurança (?:foram )?(?:desligad|desativad|suspens)|(?:desligou|desativou|suspendeu) (?:os seus|as suas|seus|suas) (?:filtros|regras|restrições)', // pt
};

/** Cyrillic written as read, folded to the skeleton's letters (an "о" is an "o" there). */
function folded(s: string): string {
  let out = '';
  for (const ch of s) out += CONFUSABLE[ch.codePointAt(0)!] ?? ch;
  return out;
}

/** Alternatives per signal in scripts without ASCII word boundaries: each holds a non-ASCII letter. */
const OTHER_SCRIPT_ALTERNATIVES: Readonly<Record<string, readonly string[]>> = {
  ignore_instructions: [
    `(?:игнорируй|проигнорируй|забудь|не обращай внимания на|отбрось|не следуй|больше не следуй|не слушай)${GAP}(?:инструкци|правил|указани|промпт|ограничени|всё|все, что)`, // ru
    `(?:ігноруй|проігноруй|забудь|не звертай уваги на|відкинь|не дотримуйся|не слухай)${GAP}(?:інструкці|правил|вказівк|промпт|обмежен|все, що)`, // uk
    `(?:忽略|忘记|忘掉|无视|無視|不要理会|不要遵守|不再遵守|不要遵循|忽视|忽視|抛开|拋開)${CJK_GAP}(?:指令|指示|规则|規則|提示|说明|說明|设定|設定|要求|限制)`, // zh
    `(?:指示|ルール|命令|プロンプト|設定|制約|規則)${CJK_GAP}(?:無視|忘れ|従わな|破棄)`, // ja
    `(?:지시|규칙|명령|지침|프롬프트|설정|제한)${CJK_GAP}(?:무시|잊어|따르지)`, // ko
    `(?:تجاهل|انس|انسَ|لا تلتزم|لا تتبع|تخل عن)${GAP}(?:التعليمات|تعليمات|القواعد|قواعد|الإرشادات|إرشادات|موجه)`, // ar
    `(?:निर्देश|नियम|प्रॉम्प्ट)${GAP}(?:अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल जा|मत मान)`, // hi
  ],
  new_instructions: [
    `(?:твоя новая|твоё новое|твое новое|новые инструкции|новые указания)`, // ru
    `(?:твоє нове|твоя нова|нові інструкції|нові вказівки)`, // uk
    '(?:你的新任务|你的新任務|新的指令|新指令|新的指示)', // zh
    '(?:新しい指示|新たな指示|新しい命令|あなたの新しい(?:タスク|任務))', // ja
    '(?:새로운 지시|새 지시|새로운 임무|새 임무|새로운 명령)', // ko
    '(?:مهمتك الجديدة|تعليمات جديدة|التعليمات الجديدة)', // ar
    '(?:नया काम|नए निर्देश|नया निर्देश)', // hi
  ],
  role_override: [
    `(?:теперь ты|ты теперь|отныне ты|с этого момента ты|притворись|представь,? что ты|веди себя как)`, // ru
    `(?:тепер ти|ти тепер|відтепер ти|з цього моменту ти|прикинься|уяви,? що ти|поводься як)`, // uk
    '(?:你现在是|你現在是|你从现在起是|现在你是|現在你是|假装你是|假裝你是|扮演一个|扮演一個|你将扮演|你將扮演)', // zh
    '(?:今からあなたは|これからあなたは|あなたは今から|ふりをして|になりきって|として振る舞)', // ja
    '(?:이제부터 너는|지금부터 너는|이제 너는|지금부터 당신은|인 척해|척하고|역할을 맡아)', // ko
    '(?:أنت الآن|تظاهر بأنك|تصرف كأنك|تصرف وكأنك)', // ar
    '(?:अब तुम|अब आप|अब से तुम|होने का नाटक)', // hi
  ],
  system_prompt_extraction: [
    `(?:покажи|выведи|раскрой|повтори|напиши|скажи|какой|какие|процитируй)${GAP}(?:системн${END} (?:промпт|подсказк|инструкци)|сво(?:и|ю) инструкци|скрыт${END} инструкци|исходн${END} инструкци|начальн${END} инструкци)`, // ru
    `(?:покажи|виведи|розкрий|повтори|напиши|скажи|який|які|процитуй)${GAP}(?:системн${END} (?:промпт|підказк|інструкці)|сво(?:ї|ю) інструкці|приховані інструкці|початков${END} інструкці)`, // uk
    `(?:显示|顯示|告诉我|告訴我|输出|輸出|泄露|透露|重复|重複|打印|公开|公開|给我看|給我看)${CJK_GAP}(?:系统提示|系統提示|系统指令|系統指令|隐藏的指令|隱藏的指令|初始指令|原始指令|你的指令)`, // zh
    `(?:系统提示词|系統提示詞|你的系统提示|你的系統提示|你的初始指令|你的指令)${CJK_GAP}(?:是什么|是什麼)`, // zh
    `(?:把|将|將)(?:你的)?${CJK_GAP}(?:系统提示|系統提示|系统指令|系統指令|初始指令|隐藏指令|隱藏指令)${CJK_GAP}(?:输出|輸出|显示|顯示|告诉|告訴|打印|发给|發給|贴出|貼出|复述|複述|给我|給我)`, // zh: the object first
    `(?:システムプロンプト|隠された指示|隠し指示|初期指示|元の指示|最初の指示)${CJK_GAP}(?:表示|教えて|見せて|出力|繰り返|明かし|書き出)`, // ja
    `(?:시스템 프롬프트|숨겨진 지시|초기 지시|원래 지시|처음 지시)${CJK_GAP}(?:보여|알려|출력|반복|공개)`, // ko
    `(?:اعرض|أظهر|اكشف|كرر|أعطني|ما هو|ما هي)${GAP}(?:موجه النظام|تعليمات النظام|التعليمات المخفية|تعليماتك)`, // ar
    `(?:सिस्टम प्रॉम्प्ट|छिपे हुए निर्देश|अपने निर्देश)${GAP}(?:दिखा|बता|दोहरा|लिखो)`, // hi
  ],
  addressed_to_model: [
    `(?:примечание|сообщение|инструкция|заметка|указание|записка) для (?:ии|ассистента|модели|чат-бота|бота|искусственного интеллекта|языковой модели)|если ты (?:ии|ассистент|языковая модель|модель|бот)`, // ru
    `(?:примітка|повідомлення|інструкція|вказівка|нотатка) для (?:ші|асистента|моделі|чат-бота|бота|штучного інтелекту|мовної моделі)|якщо ти (?:ші|асистент|мовна модель|модель|бот)`, // uk
    '(?:致|给|給)(?:ai|人工智能|ai助手|助手|模型|语言模型|語言模型)的?(?:说明|說明|指令|消息|訊息|备注|備註|提示|注意)|如果你是(?:ai|人工智能|助手|语言模型|語言模型|模型)', // zh
    '(?:ai|アシスタント|言語モデル|モデル)(?:への|に対する)(?:メモ|メッセージ|指示|注意)|もしあなたが(?:ai|アシスタント|言語モデル)', // ja
    '(?:ai|어시스턴트|언어 모델|모델)(?:에게|에 대한) (?:메모|메시지|지시|안내)|만약 (?:당신|네)가 (?:ai|어시스턴트|언어 모델)', // ko
    '(?:ملاحظة|رسالة|تعليمات)[^.!?\\n]{0,8}(?:المساعد|للمساعد|الذكاء الاصطناعي|للذكاء الاصطناعي|النموذج|للنموذج)|إذا كنت (?:مساعدا|ذكاء اصطناعيا|نموذجا)', // ar
    '(?:एआई|सहायक|मॉडल|ai) के लिए (?:नोट|संदेश|निर्देश)|(?:यदि|अगर) (?:आप|तुम) (?:एक )?(?:एआई|सहायक)', // hi
    // an order to keep something from the user
    '(?:не говори|не сообщай|не рассказывай)(?: об этом| ничего)? пользовател|без ведома пользовател', // ru
    '(?:не кажи|не повідомляй|не розповідай)(?: про це| нічого)? користувач|без відома користувач', // uk
    '(?:不要|别|別|不得)(?:告诉|告訴|通知|提醒)(?:用户|用戶|使用者)|(?:用户|用戶|使用者)(?:不|不能|不得)(?:知道|发现|發現)', // zh
    'ユーザー(?:に|には)(?:言わない|伝えない|知らせない|教えない|内緒)|ユーザーに気づかれない', // ja
    '사용자(?:에게|한테) (?:알리지|말하지|보여주지) (?:마|말)|사용자 모르게', // ko
    '(?:لا تخبر|لا تبلغ|لا تعلم) المستخدم|دون (?:علم|إخبار) المستخدم', // ar
    'उपयोगकर्ता को (?:मत|न) (?:बताओ|बताएं|बताना)|उपयोगकर्ता को बताए बिना', // hi
  ],
  jailbreak_persona: [
    '(?:режим разработчика|без (?:каких-либо |всяких )?(?:ограничений|цензуры|фильтров))', // ru
    `(?:отключил|отключила|отключили|снял|сняли|отключены|сняты)${END}${GAP}(?:твои|ваши)? ?(?:фильтр|ограничени|правил)${END}|(?:твои|ваши) (?:фильтры|ограничения|правила)(?: безопасности)? (?:отключены|сняты)`, // ru: the rules switched off
    '(?:режим розробника|без (?:будь-яких )?(?:обмежень|цензури|фільтрів))', // uk
    '(?:开发者模式|開發者模式|开发人员模式|没有任何限制|沒有任何限制|不受任何限制|无限制模式|無限制模式|没有限制的|沒有限制的)', // zh
    `(?:关闭|關閉|停用|禁用|取消|解除)了?(?:你的)?(?:所有)?${CJK_GAP}(?:安全规则|安全規則|安全过滤|安全過濾|安全限制|限制|审查|審查|过滤器|過濾器)`, // zh: the rules switched off
    '(?:開発者モード|デベロッパーモード|制限のない|制限なしで|何の制限も|検閲なし)', // ja
    `(?:安全ルール|安全フィルター|制限|セーフティ)${CJK_GAP}(?:無効|解除|停止|オフ)`, // ja: the rules switched off
    '(?:개발자 모드|제한 없는|제한이 없는|아무 제한 없이|검열 없는)', // ko
    `(?:안전 규칙|안전 필터|제한)${CJK_GAP}(?:꺼|해제|비활성)`, // ko: the rules switched off
    '(?:وضع المطور|بلا قيود|بدون قيود|دون أي قيود)', // ar
    `(?:عطّل|عطل|بتعطيل|تعطيل|رفع|ألغى|أوقف)${GAP}(?:قواعد الأمان|مرشحات الأمان|القيود|المرشحات)`, // ar: the rules switched off
    '(?:डेवलपर मोड|बिना किसी प्रतिबंध|बिना प्रतिबंध|बिना किसी सीमा)', // hi
  ],
};

/** Per signal, the other-script alternatives folded as the skeleton folds them, joined as one regex body. */
export const OTHER_SCRIPT_BODIES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(OTHER_SCRIPT_ALTERNATIVES).map(([signal, alts]) => [signal, alts.map(folded).join('|')]),
);
