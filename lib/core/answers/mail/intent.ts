/**
 * What a person's answer to a notice means, from its own words (the text above the quoted part), in English,
 * French, Arabic and Portuguese. Phrases are written in a folded form (lower case, accents and Arabic
 * diacritics and hamza seats removed, so "a été supprimé" is written "a ete supprime" and "إزالة" "ازالة"); a
 * space in a phrase stands for any run of white space. An answer that matches no phrase, or phrases of two
 * different meanings (partly actioned, partly not ours), is `unclear` and goes to review rather than be guessed.
 */

export type Language = 'en' | 'fr' | 'ar' | 'pt';
export type HumanIntent = 'acknowledged' | 'actioned' | 'not-ours' | 'needs-info' | 'disputed';

/** The meaning found in an answer, with the words that carry it. */
export interface IntentFinding {
  readonly intent: HumanIntent | 'unclear';
  /** the words as written (not folded) that decided the intent */
  readonly phrase?: string;
  readonly language?: Language;
  readonly reason: string;
  /** every phrase that matched, by intent (for review and for `takedown classify`) */
  readonly matches: readonly { intent: HumanIntent; phrase: string; language: Language }[];
}

type Table = Readonly<Record<HumanIntent, Partial<Record<Language, readonly string[]>>>>;

// `~` at the end of a phrase lets a word go on (a stem); otherwise a phrase ends at a word boundary
const PHRASES: Table = {
  actioned: {
    en: [
      "(has|have|had) (now |already |just )?been ((?!not |never )[a-z]+ )?(suspended|removed|taken down|taken offline|terminated|disabled|deleted|blocked|null-?routed|shut down|deactivated|locked|cancell?ed|cleaned( up)?|mitigated|blackholed|sinkholed|seized|put on hold|placed on (client|server )?hold|disconnected|dealt with)",
      "(was|were|is|are) (now |already )?(successfully )?(suspended|removed|taken down|taken offline|terminated|disabled|deleted|blocked|null-?routed|shut down|deactivated|offline|disconnected|sinkholed)",
      "we( have|'ve)? (now |already |just )?(successfully )?(suspended|removed|terminated|disabled|deleted|blocked|null-?routed|shut down|took down|taken down|deactivated|locked|cancell?ed|cleaned( up)?|mitigated|blackholed|sinkholed|seized|disconnected)",
      "(took|taken) (it|them|this|these|the ([a-z]+ )?(site|website|server|domain|page|pages|content|service|vps|account|host|url|urls|ip|ips|machine|instance|files?)) (down|offline)",
      "(site|website|server|domain|page|content|account|service|vps|url|ip|customer|client|machine|instance|host) (has been |was |is )?(now )?(suspended|removed|terminated|disabled|deactivated|taken down|null-?routed|disconnected)",
      "(is|are) no longer (online|active|available|accessible|reachable|hosted|live|resolving|in service)",
      "(appropriate |necessary )?(action|actions|measures|steps) (has|have) been taken",
      "we( have|'ve)? taken (the )?(appropriate|necessary) (action|actions|measures|steps)",
      "(issue|problem|matter|abuse) has been (resolved|fixed|addressed|mitigated|handled|dealt with)",
    ],
    fr: [
      "(a|ont|avons) ete ((?!pas |jamais |rien )[a-z]+ )?(suspendu|supprime|retire|desactive|bloque|resilie|ferme|coupe|mis hors ligne|mise hors ligne|nettoye|deconnecte|arrete|neutralise|efface)(e|s|es)?",
      "(avons|a|ont) ((?!pas |jamais |rien )[a-z]+ )?(suspendu|supprime|retire|desactive|bloque|resilie|ferme|coupe|mis hors ligne|nettoye|deconnecte|arrete|neutralise|efface)(e|s|es)?",
      "(est|sont) (desormais |maintenant |bien )?(hors ligne|inaccessibles?|suspendu|suspendue|suspendus|supprimee?s?|desactivee?s?|bloquee?s?|fermee?s?)",
      "(les )?(mesures|actions) (necessaires |appropriees )?(ont ete|a ete) (prises|effectuees|mises en place)",
      "nous avons pris les mesures (necessaires|appropriees)",
      // what French-speaking abuse desks write when it is done, each seen in the wild and tested one by one
      "(nous )?(venons|viens) de (suspendre|supprimer|desactiver|bloquer|retirer|fermer|couper|resilier)",
      "(c'est|c'etait) (fait|regle|corrige)",
      "(cela|ceci) a ete (fait|traite|regle|corrige)",
      "(le )?(necessaire|requis) a ete fait",
      "(nous )?(avons|a|ont) procede a (la )?(suppression|suspension|desactivation|fermeture|resiliation|coupure|mise hors ligne)",
      "(la )?(suppression|suspension|desactivation|fermeture|resiliation|coupure|mise hors ligne) (a ete|est) (effectuee|realisee|faite|appliquee)",
      "(n'est|ne sont) plus (accessibles?|en ligne|disponibles?|actifs?|actives?|heberges?|hebergees?|joignables?)",
      "(est|sont) (desormais |maintenant )?(hors service|inactifs?|inactives?)",
      "(a|ont) ete (mis|mise|mises) hors service",
      "(a|ont) ete (desinfecte|securise|corrige)(e|s|es)?",
      "(le probleme|l'incident|l'abus|le signalement) (a ete |est )?(resolu|regle|corrige)",
      "(hebergement|abonnement|contrat|compte|service) (du client )?(a ete |est )?(resilie|termine|clos|cloture)",
      "(nous )?(avons|a) (mis fin|mis un terme) (a|au|aux)",
    ],
    pt: [
      "(foi|foram) (ja )?((?!nao )[a-z]+ )?(suspens|removid|retirad|desativad|bloquead|derrubad|cancelad|desligad|excluid|apagad|encerrad|tirad)(o|a|os|as)",
      "(suspendemos|removemos|retiramos|desativamos|bloqueamos|derrubamos|cancelamos|desligamos|excluimos|apagamos|encerramos|tiramos)",
      "(esta|estao|se encontra) (agora |ja )?(fora do ar|offline|inacessive(l|is)|suspens[oa]s?|desativad[oa]s?|bloquead[oa]s?|removid[oa]s?)",
      "(as )?(medidas|providencias|acoes) (cabiveis |necessarias )?(foram|ja foram) (tomadas|adotadas)",
      // what Portuguese-speaking abuse desks write when it is done, each tested one by one
      "(ficou|ficaram|encontra-se|encontram-se) (fora do ar|offline|inacessive(l|is)|indisponive(l|is)|suspens[oa]s?|desativad[oa]s?|bloquead[oa]s?)",
      "nao (esta|estao) mais (no ar|online|acessive(l|is)|disponive(l|is)|ativ[oa]s?)",
      "(ja )?nao (se encontra|se encontram|responde|respondem) mais",
      "(ja )?(foi|foram) (tomad[oa]s?) (as )?(devidas )?(providencias|medidas|acoes)",
      "(procedemos|efetuamos|realizamos|fizemos) (a|com a|o|com o) (remocao|suspensao|desativacao|exclusao|retirada|derrubada|bloqueio)",
      "(a )?(remocao|suspensao|desativacao|exclusao|retirada|derrubada) (foi|ja foi) (realizada|efetuada|concluida|feita)",
      "(o )?(problema|incidente|abuso|caso) (foi|ja foi) (resolvido|solucionado|corrigido)",
      "(o )?(contrato|servico|plano|conta) (do cliente )?(foi|ja foi) (cancelad|encerrad|rescindid)(o|a)",
      "(ja )?(esta|estao) resolvid[oa]s?",
      "(tiraram|derrubaram|tiramos) (o site |a pagina |o dominio |o conteudo |o servidor )?do ar",
      "(desativad[oa]|suspens[oa]|removid[oa]|bloquead[oa]) com sucesso",
      "(site|pagina|dominio|servidor|conteudo|conta|servico) (esta|estao) (inativ[oa]s?|indisponive(l|is))",
    ],
    ar: [
      "تم (ايقاف|حذف|ازال[ةه]|تعليق|حجب|اغلاق|الغاء|تعطيل|انهاء|فصل|توقيف)",
      "قمنا (بايقاف|بحذف|بازال[ةه]|بتعليق|بحجب|باغلاق|بالغاء|بتعطيل|بانهاء|بفصل|بتوقيف)",
      "(اوقفنا|حذفنا|ازلنا|علقنا|حجبنا|اغلقنا|عطلنا|الغينا)",
      "(لم يعد|لم تعد) (متاح|متاحا|متاح[ةه]|يعمل|تعمل|موجود|موجودا|موجود[ةه])",
      // what Arabic-speaking abuse desks write when it is done, each tested one by one
      "تمت (ازال[ةه]|حذف|ايقاف|تعليق|حجب|اغلاق|تعطيل|الغاء|انهاء|مسح)",
      "جرى (حذف|ازال[ةه]|ايقاف|تعليق|حجب|اغلاق|تعطيل)",
      "قام (فريقنا|الفريق|العميل|المستضيف|عميلنا) (ب)?(ازال[ةه]|حذف|ايقاف|تعليق|حجب|اغلاق|تعطيل)",
      "(اصبح|اصبحت) (الموقع |النطاق |الخادم |الصفح[ةه] |الخدم[ةه] )?(غير متاح|غير متاح[ةه]|معطلا|معطل[ةه]|موقوفا|خارج الخدم[ةه])",
      "(معلق|موقوف|محجوب|محذوف|معطل)(ة|ه)? (الان|حاليا)",
      "(ازيل|ازيلت|حذفت|اوقفت|علقت|حجبت|اغلقت|عطلت) (الصفح[ةه]|الخدم[ةه]|المحتوى|الملفات|الروابط|الموقع|النطاق|الحساب)",
      "(اتخذنا|تم اتخاذ) (الاجراءات|الاجراء|التدابير) (اللازم[ةه]|المناسب[ةه])",
      "(تم|تمت) (معالج[ةه]|حل) (المشكل[ةه]|البلاغ|الامر)",
      "خارج (الخدم[ةه]|الشبك[ةه]) (الان|حاليا)",
      "(تم|تمت) (انهاء|الغاء|فسخ) (عقد|اشتراك|حساب|خدم[ةه]) (العميل|المشترك)",
      "(تم|تمت) (تنظيف|تطهير) (الخادم|الموقع|الحساب)",
    ],
  },
  'not-ours': {
    en: [
      "(is|are) not (ours|our customers?|our clients?|one of ours|one of our (customers|clients)|our (ip|ips|network|address|addresses|range|domain|server|servers|space|prefix|block|asn|resource))",
      "not (one of )?our (customers?|clients?)",
      "not ours",
      "(does not|doesn't|do not|don't) belong to (us|our)",
      "belongs? to (our upstream|the upstream|another|a different|a third|an? other|(?!us|our (customer|client))[a-z0-9.-]+ (as|telecom|networks?|hosting|ltd|inc|gmbh|llc|sa|sarl|isp)\\b)",
      "not (hosted|registered|managed|operated|announced) (by|with|on|at|in) (us|our)",
      "we (do not|don't|no longer) (host|manage|operate|own|control|provide services for|announce|route) (this|that|the|these|those|it|them)",
      "(we are|we're) (not|only) (the )?(registrar|hosting provider|hosting company|host|provider|isp|upstream|transit provider|dns provider|right (contact|party|address)|correct (contact|party|address)|owner|registry)",
      "wrong (contact|address|abuse contact|recipient|department|party|provider|email|person)",
      "(please )?(contact|reach out to|forward (this|it|your report) to|direct your (report|complaint|request) to|report (this|it) to|address (this|your report) to) (the|their|its|our upstream|the responsible) ([a-z]+ )?(hosting|upstream|provider|registrar|isp|owner|host|registry|network operator)",
      "no longer (our|a|an active) (customer|client|user)",
      "(was|has been|were|have been) (reassigned|transferred|returned|reallocated)",
      "(outside|out) of our (network|address space|range|allocation|control)",
      "not (within|in|part of|under) our (network|control|address space|range|allocation|management|responsibility)",
    ],
    fr: [
      "(n'appartient|n'appartiennent) (pas|plus) a (notre|nos|nous)",
      "ne nous (appartient|appartiennent) (pas|plus)",
      "ne (fait|font) (pas|plus) partie (de|des) (notre|nos)",
      "(n'est|ne sont) (pas|plus) (un de nos|une de nos|notre|nos|chez nous|heberge chez nous|hebergee chez nous|gere par nous|geree par nous)",
      "(pas|plus) (notre|un de nos|une de nos) client",
      "(ne sommes|n'etes|n'est) pas (l'hebergeur|le bureau d'enregistrement|le registraire|le bon (contact|interlocuteur|destinataire)|le fournisseur|responsables?|l'operateur|le proprietaire)",
      "(veuillez|merci de|nous vous invitons a|nous vous prions de) (contacter|vous adresser a|vous rapprocher de|transmettre (votre|ce) signalement a) (l'hebergeur|le fournisseur|l'operateur|notre fournisseur|le registraire|le bureau|leur|son|l'hebergement)",
      "mauvais (contact|destinataire|interlocuteur)",
      "(n'heberge|n'hebergeons|n'hebergent) pas",
      "(hors de|en dehors de) notre (reseau|perimetre|plage)",
    ],
    pt: [
      "nao (pertence|pertencem|faz parte|fazem parte) (a |ao |de |da |do |aos )?(nossa|nosso|nossos|nossas|nos)",
      "nao (e|sao) (mais )?(nosso|nossa|nossos|nossas|de nossa|de nosso|um cliente nosso|cliente nosso|nosso cliente)",
      "nao somos (o|a|os) (responsave(l|is)|provedor|registrador|operador|hospedeiro|detentor|titular)",
      "(entre|entrar|entrem) em contato com (o|a|seu|sua) (provedor|operadora|registrador|hospedagem|responsavel|upstream|empresa)",
      "contato (errado|incorreto|equivocado)",
      "nao (hospedamos|gerenciamos|administramos|operamos)",
      "fora da nossa (rede|faixa)",
    ],
    ar: [
      "(لا|ليس|ليست) (ينتمي|تنتمي|يتبع|تتبع|تابع|تابع[ةه]|تابعا)",
      "(ليس|ليست|لا يعد|لا تعد) (من )?(عملائنا|ضمن شبكتنا|ضمن نطاقنا|لنا|ملكنا|عميلا لدينا)",
      "(لا يخصنا|لا تخصنا|لا يعود لنا|لا تعود لنا|لا يعود الينا|لا تعود الينا|خارج شبكتنا|خارج نطاقنا)",
      "(يرجى|الرجاء|نرجو|يمكنكم) (التواصل|الاتصال|مراسل[ةه]) (مع )?(مزود|المزود|الجه[ةه]|المسجل|مسجل|الشرك[ةه] المستضيف[ةه]|مقدم الخدم[ةه]|مالك)",
      "لسنا (الجه[ةه]|المسؤول|المسؤولين|المزود|مزود|المسجل|الشرك[ةه])",
    ],
  },
  'needs-info': {
    en: [
      "(please,?|kindly|could you|can you|would you)( please| kindly)? (send|provide|share|forward|supply|give|attach|include|specify|clarify|tell) (us |me )?(with )?((more|additional|further|the|some|any|full|exact|complete|detailed|specific|relevant) )*(information|info|evidence|details|logs|log files|proof|examples|samples|screenshots|urls?|timestamps|headers|paths|context|data)",
      "(we|i) (need|require|would need|will need|would require) ((more|additional|further|some|the) )?(information|info|evidence|details|logs|proof|examples|timestamps|data)",
      "(unable|not able|could not|couldn't|cannot|can't|were unable|are unable) to (locate|find|verify|reproduce|confirm|identify|access) (the|this|that|it|these|those|them)",
      "insufficient (information|evidence|details|data)",
      "(more|additional|further) (information|evidence|details|data) (is|are|would be|will be) (needed|required|necessary)",
    ],
    fr: [
      "(pourriez-vous|pourriez vous|pouvez-vous|pouvez vous|merci de|veuillez|auriez-vous) (nous |me )?(fournir|transmettre|envoyer|communiquer|preciser|donner|indiquer|joindre).{0,40}?(informations?|preuves?|details|elements|journaux|logs|exemples|captures?|url|horodatages?)",
      "(avons besoin|aurions besoin|besoin) (de|d') ?(plus|davantage|informations|elements|preuves|details|precisions)",
      "(informations|elements|preuves|details|precisions) (complementaires|supplementaires)",
      "(impossible|pas pu|n'avons pas pu|ne parvenons pas a|ne pouvons pas) (de )?(trouver|localiser|verifier|reproduire|identifier|acceder)",
    ],
    pt: [
      "(por favor,?|favor|poderia|poderiam|podem|pode|solicitamos que) (nos )?([a-z]+ )?(enviar|envie|enviem|fornecer|forneca|fornecam|informar|informe|encaminhar|encaminhe|mandar|mande|detalhar|especificar|especifique).{0,40}?(informacoes|evidencias|provas|detalhes|logs|exemplos|urls?|horarios|registros|capturas)",
      "precisamos de (mais )?(informacoes|evidencias|provas|detalhes|logs|dados)",
      "(informacoes|evidencias|detalhes|provas|dados) (adicionais|complementares)",
      "nao (conseguimos|foi possivel|pudemos) (encontrar|localizar|verificar|reproduzir|identificar|acessar)",
    ],
    ar: [
      "(يرجى|الرجاء|نرجو|نامل|نطلب) (منكم )?(تزويدنا|ارسال|موافاتنا|تقديم|تزويد|توفير) (ب)?(مزيد|المزيد|معلومات|ادل[ةه]|الادل[ةه]|السجلات|سجلات|تفاصيل|التفاصيل|بيانات|روابط|الروابط)",
      "(نحتاج|بحاج[ةه]) (الى |الي )?(مزيد|المزيد|معلومات|ادل[ةه]|تفاصيل|بيانات)",
      "(معلومات|ادل[ةه]|تفاصيل|بيانات) (اضافي[ةه]|اكثر)",
      "(لم نتمكن|لا يمكننا|لم نستطع) (من )?(العثور|ايجاد|التحقق|تحديد|الوصول)",
    ],
  },
  disputed: {
    en: [
      "we (dispute|contest|reject|disagree with|do not agree with|don't agree with) (this|the|your)",
      "(is|are) (a |an )?(entirely |completely |perfectly )?(legitimate|legit|lawful|genuine) (site|website|business|service|domain|server|page|company|customer|use|content|activity|shop|store)",
      "legitimate (site|website|business|service|domain|server|use|content|activity|company|customer)",
      "false (positive|report|alarm|accusation)",
      "(is|are|was) not (malicious|phishing|a phishing (site|page)|a c2|a botnet|spam|fraudulent|involved|compromised|infected)",
      "(found|find|see|detect|observed?) no (evidence|signs?|traces?|indications?) of",
      "no (malicious|phishing|fraudulent|suspicious) (content|activity|behaviou?r|code|files?) (was |were |has been )?(found|detected|observed)",
      "(could not|couldn't|did not|didn't|were unable to) (find|detect|see|observe) any (malicious|phishing|malware|fraudulent|suspicious|evidence)",
      "(will|shall) not (take|be taking) (any )?action",
      "won't take (any )?action",
      "(decline|refuse) to (act|take|remove|suspend|comply)",
      "(will|shall) not (remove|suspend|take down|terminate|disable)",
      "won't (remove|suspend|take down|terminate|disable)",
      "(does|do) not (violate|breach|infringe)",
      "no (violation|breach) of",
      "(complies|compliant) with (our|the) (terms|policy|policies|aup)",
    ],
    fr: [
      "(nous )?contestons",
      "(site|service|activite|domaine|contenu|serveur) (est |sont )?(tout a fait |parfaitement )?(legitime|legal|licite)s?",
      "faux positif",
      "(n'est|ne sont) pas (malveillant|malicieux|frauduleux|du phishing|de l'hameconnage|un site de phishing|compromis)",
      "aucune? (contenu|element|activite|trace) (malveillante?|frauduleuse?|suspecte?|malicieuse?)",
      "nous refusons",
      "(ne prendrons|n'allons prendre) aucune (mesure|action)",
      "(en )?desaccord",
    ],
    pt: [
      "(contestamos|discordamos|refutamos)",
      "(site|servico|dominio|conteudo|cliente) (e |sao )?(totalmente |perfeitamente )?(legitimo|legitima|legal)",
      "falso positivo",
      "nao (e|se trata de|sao) (um site )?(malicioso|maliciosa|fraudulento|fraudulenta|phishing|golpe)",
      "nenhum (conteudo|indicio|sinal|vestigio) (malicioso|fraudulento|de phishing|suspeito)",
      "nao (vamos|iremos) (remover|suspender|tomar|retirar)",
    ],
    ar: [
      "(نعترض|نرفض|نعارض|لا نتفق)",
      "(موقع|الموقع|نشاط|خدم[ةه]|النشاط|الخدم[ةه]|المحتوى) (\\p{L}+ )?(شرعي|قانوني|مشروع|سليم)",
      "(بلاغ خاطئ|بلاغ كاذب|ايجابي[ةه] كاذب[ةه]|انذار كاذب|انذار خاطئ)",
      "(لا يحتوي|لا تحتوي|لم نجد|لم نعثر) (على |علي )?(اي )?(محتوى|نشاط|دليل|ادل[ةه])",
      "(ليس|ليست|غير) (خبيث|خبيثا|ضار|ضارا|احتيالي|احتيالي[ةه]|تصيد)",
    ],
  },
  acknowledged: {
    en: [
      "thank(s| you) (very much |so much )?for (your|the|this) (report|notice|notification|message|e-?mail|information|heads up|alert)",
      "we( are|'re) (now |currently |still )?(investigating|looking into|reviewing|checking|handling|processing|working on)",
      "we( will|'ll|shall) (now |promptly |immediately )?(investigate|look into|review|check|handle|process|take (the )?(appropriate|necessary) (action|steps|measures)|act on|contact|notify|inform|forward|pass|follow up|get back)",
      "(have |'ve )?(forwarded|passed|escalated|sent|notified|informed|contacted|alerted|relayed) (this |it |the |your )?(report |complaint |notice |issue |matter |case )?(on )?(to )?(the|our|this) (customer|client|team|owner|abuse team|noc|security team|registrant|reseller|user|administrator|admin|webmaster|department)",
      "(is|are|has been) (being |currently being |now being )?(investigated|reviewed|handled|processed|looked into|escalated)",
      "under (investigation|review)",
      "(we )?(have )?(received|noted|acknowledged?) (your|the) (report|notice|e-?mail|message|complaint)",
      "(we )?(will|'ll) (get back to you|update you|keep you (posted|informed|updated))",
    ],
    fr: [
      "merci (beaucoup )?(pour|de) (votre|ce|le|cette) (signalement|message|notification|rapport|courriel|mail|alerte|information)",
      "nous (allons|devons) (examiner|analyser|verifier|traiter|enqueter|etudier|contacter|informer|prendre les mesures|regarder|transmettre)",
      "(nous )?(avons|a) (transmis|transfere|informe|prevenu|contacte|notifie|alerte|relaye)",
      "(en cours|est en cours) (de traitement|d'analyse|d'examen|d'investigation|de verification)",
      "nous (enquetons|examinons|analysons|verifions|traitons)",
      "(avons bien recu|bien recu|avons recu) (votre|le|ce|cette|la)",
      "nous (reviendrons vers vous|vous tiendrons informe)",
    ],
    pt: [
      "obrigad[oa] (pela|pelo|por) (sua |seu |a |o )?(denuncia|notificacao|relato|report|aviso|mensagem|contato|alerta|informacao)",
      "agradecemos (a|o|pela|pelo|sua|seu)",
      "(vamos|iremos|vou|estaremos) (analisar|investigar|verificar|averiguar|tratar|encaminhar|contatar|notificar|tomar)",
      "estamos (analisando|investigando|verificando|averiguando|tratando|cientes)",
      "(encaminhamos|repassamos|notificamos|informamos|contatamos|comunicamos) (o caso |a denuncia |a notificacao |o relato )?(ao|para o|para a|a|o) (cliente|responsavel|equipe|usuario|titular)",
      "(recebemos|foi recebida|foi recebido) (a |sua |seu |o )?(denuncia|notificacao|mensagem|relato|email|e-mail)",
      "em (analise|investigacao|tratamento|andamento)",
    ],
    ar: [
      "(شكرا|نشكركم|نشكرك)( لكم| لك| جزيلا)? (على|علي) (البلاغ|بلاغكم|بلاغك|الابلاغ|ابلاغكم|ابلاغنا|رسالتكم|الاشعار|اشعاركم|التنبيه|تنبيهكم|الرسال[ةه])",
      "(سنقوم|سوف نقوم|سنعمل|سوف نعمل|سنتولى) (ب)?(التحقق|التحقيق|مراجع[ةه]|المراجع[ةه]|فحص|الفحص|دراس[ةه]|متابع[ةه]|اتخاذ|التواصل|ابلاغ)",
      "(سنتحقق|سنراجع|سنفحص|سندرس|سنتابع|سنبلغ)",
      "(نقوم|جار[يى]|يجري|نعمل على) (ب)?(التحقق|التحقيق|المراجع[ةه]|الفحص|مراجع[ةه]|فحص|دراس[ةه]|معالج[ةه])",
      "قيد (المراجع[ةه]|التحقيق|الدراس[ةه]|المعالج[ةه]|الفحص)",
      "تم (استلام|تلقي) (بلاغكم|البلاغ|بلاغك|رسالتكم|الرسال[ةه]|اشعاركم|الاشعار)",
      "(قمنا ب|تم )(ابلاغ|اخطار|اعلام|تحويل|ارسال|احال[ةه]).{0,40}(العميل|الزبون|الفريق|عميلنا|المسؤول)",
    ],
  },
};

// words that undo a phrase just before it ("nothing has been removed", "não foi removido")
const NEGATION = /(?<![\p{L}'])(not|never|no|nothing|none|n't|cannot|yet to|pas|jamais|rien|nao|nunca|nada|لم|لن|لا|ليس)(?![\p{L}])[^.!?,;:\n]{0,20}$/u;
// a short answer that is only a verb: "Done, removed." / "Suspended."
const TERSE_ACTIONED = /^\W*(done\W+)?(removed|suspended|taken down|terminated|disabled|blocked|deleted|null-?routed|supprime|suspendu|removido|suspenso|تم الحذف|تم الايقاف)\b/u;

interface Compiled {
  readonly intent: HumanIntent;
  readonly language: Language;
  readonly re: RegExp;
}

const COMPILED: readonly Compiled[] = (Object.entries(PHRASES) as [HumanIntent, Partial<Record<Language, readonly string[]>>][]).flatMap(
  ([intent, byLanguage]) =>
    (Object.entries(byLanguage) as [Language, readonly string[]][]).flatMap(([language, phrases]) =>
      phrases.map((phrase) => {
        const stem = phrase.endsWith('~');
        const body = (stem ? phrase.slice(0, -1) : phrase).replace(/ /g, '\\s+');
        return { intent, language, re: new RegExp(`(?<![\\p{L}\\p{N}])${body}${stem ? '' : '(?![\\p{L}\\p{N}])'}`, 'gu') };
      }),
    ),
);

/** Lower case, no accents, no Arabic diacritics or hamza seats; folded char i came from `text.slice(start[i], end[i])`. */
export function fold(text: string): { folded: string; start: number[]; end: number[] } {
  let folded = '';
  const start: number[] = [];
  const end: number[] = [];
  let i = 0;
  for (const ch of text) {
    const f = ch
      .normalize('NFD')
      .replace(/[\p{M}\u0640]/gu, '')
      .replace(/[’‘`´]/g, "'")
      .toLowerCase();
    for (const c of f) {
      folded += c;
      start.push(i);
      end.push(i + ch.length);
    }
    i += ch.length;
  }
  return { folded, start, end };
}

const STRONG: readonly HumanIntent[] = ['actioned', 'not-ours', 'needs-info', 'disputed'];

/** The intent of a person's own words (the text above the quoted part). */
export function detectIntent(text: string): IntentFinding {
  const { folded, start, end } = fold(text.slice(0, 20_000));
  const original = (a: number, b: number): string => text.slice(start[a] ?? 0, end[b - 1] ?? text.length).replace(/\s+/g, ' ').trim();
  const matches: { intent: HumanIntent; phrase: string; language: Language; at: number }[] = [];
  for (const c of COMPILED) {
    c.re.lastIndex = 0;
    for (let m = c.re.exec(folded); m; m = c.re.exec(folded)) {
      if (!m[0]) {
        c.re.lastIndex++;
        continue;
      }
      if (c.intent === 'actioned' && NEGATION.test(folded.slice(Math.max(0, m.index - 30), m.index))) continue;
      matches.push({ intent: c.intent, phrase: original(m.index, m.index + m[0].length), language: c.language, at: m.index });
    }
  }
  const terse = folded.trim().length <= 80 ? TERSE_ACTIONED.exec(folded.trim()) : null;
  if (terse && !matches.some((m) => m.intent === 'actioned')) {
    const offset = folded.indexOf(terse[0].trim());
    matches.push({ intent: 'actioned', phrase: original(offset, offset + terse[0].trim().length), language: guessLanguage(folded) ?? 'en', at: offset });
  }
  matches.sort((a, b) => a.at - b.at);
  const list = matches.map(({ intent, phrase, language }) => ({ intent, phrase, language }));
  const strong = [...new Set(matches.filter((m) => STRONG.includes(m.intent)).map((m) => m.intent))];

  // asking for evidence while doubting it: the answer that keeps the case alive is the request
  const decided = strong.length === 2 && strong.includes('needs-info') && strong.includes('disputed') ? ['needs-info' as const] : strong;
  if (decided.length > 1) {
    const first = decided.map((i) => matches.find((m) => m.intent === i)!);
    return {
      intent: 'unclear',
      language: first[0]!.language,
      reason: `phrases of different meanings: ${first.map((m) => `${m.intent} ("${m.phrase}")`).join(', ')}`,
      matches: list,
    };
  }
  const chosen = decided.length ? matches.find((m) => m.intent === decided[0]) : matches.find((m) => m.intent === 'acknowledged');
  if (!chosen) {
    return { intent: 'unclear', language: text.trim() ? guessLanguage(folded) : undefined, reason: text.trim() ? 'no phrase of a known intent' : 'no text of its own above the quoted part', matches: list };
  }
  return { intent: chosen.intent, phrase: chosen.phrase, language: chosen.language, reason: `${chosen.intent}: "${chosen.phrase}" (${chosen.language})`, matches: list };
}

/** A rough language of a folded text, for answers no phrase matched. */
export function guessLanguage(folded: string): Language | undefined {
  const letters = folded.replace(/[^\p{L}]/gu, '');
  if (!letters) return undefined;
  const arabic = letters.replace(/[^\u0600-\u06ff]/g, '').length;
  if (arabic / letters.length > 0.3) return 'ar';
  const count = (re: RegExp): number => folded.match(re)?.length ?? 0;
  const scores: [Language, number][] = [
    ['en', count(/\b(the|we|you|and|is|have|this|please|thank)\b/g)],
    ['fr', count(/\b(le|la|les|nous|vous|est|et|des|merci|votre|pour)\b/g)],
    ['pt', count(/\b(o|a|os|nao|que|voce|nos|obrigad[oa]|para|sua|seu|com)\b/g)],
  ];
  scores.sort((a, b) => b[1] - a[1]);
  return scores[0]![1] > 0 ? scores[0]![0] : undefined;
}

const TICKET_PATTERNS: readonly RegExp[] = [
  /\[?\b(?:Ticket|Tkt)\s*(?:#|no\.?|nr\.?|number|id|:)\s*:?\s*#?\s*([A-Z0-9][\w-]{2,40})\]?/i,
  /\[([A-Za-z0-9][\w.-]* #\d{3,})\]/,
  /\[#(\d{3,})\]|\(#(\d{3,})\)/,
  /\b(?:request|ticket|case|demande|chamado|pedido)\s*\(#?(\d{3,})\)/i,
  /\b(?:Case|Incident|Request|Ref(?:erence)?|Dossier|Chamado|Protocolo|Caso|Incidente|Solicita[cç][aã]o|Demande)\s*(?:#|no\.?|n[°º]|nr\.?|number|num[eé]ro|n[uú]mero|id|:)\s*:?\s*#?\s*([A-Z0-9][\w-]{2,40})/i,
  /\b((?:INC|CS|SR|CASE|ABUSE|TKT|REQ|RITM|CHG)[-#]?\d{4,})\b/,
  /(?:رقم البلاغ|رقم التذكرة|رقم الطلب|تذكرة رقم|بلاغ رقم|رقم المرجع)\s*:?\s*#?\s*([A-Za-z0-9-]{3,40})/,
];

/** The recipient's own ticket number in a subject, a header or the first lines of a text; never our own tag. */
export function findTicket(...texts: (string | undefined)[]): string | undefined {
  for (const text of texts) {
    if (!text) continue;
    const clean = text.replace(/\[?TKD-n[0-9a-z]{16}\]?/gi, ' ');
    for (const re of TICKET_PATTERNS) {
      const m = re.exec(clean);
      const value = m?.slice(1).find((g) => g !== undefined);
      if (value && /\d/.test(value)) return value.slice(0, 200);
    }
  }
  return undefined;
}
