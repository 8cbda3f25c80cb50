"""Cue words detection looks for, per language: data only, compiled once by the detector.

Every entry is a regular-expression fragment matched against normalised text: NFKC, lowercase,
every quote mark turned into ', every dash into -, runs of spaces into one. Fragments for Latin
scripts are wrapped in word boundaries by the compiler; Korean fragments are matched as written,
because particles attach to the words they follow. Languages: en, ko, es, id, pt.
"""

# ruff: noqa: E501  (cue tables keep each phrase family on one line, so they read as a table)
from __future__ import annotations

from collections.abc import Mapping
from typing import Final

CueTable = Mapping[str, tuple[str, ...]]
"""Fragments by language code."""

# --- Season references ------------------------------------------------------------------------

ORDINALS: Final[Mapping[str, int]] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6, "7th": 7,
    "primera": 1, "segunda": 2, "tercera": 3, "cuarta": 4, "quinta": 5, "sexta": 6,
    "primeira": 1, "terceira": 3, "quarta": 4,
    "pertama": 1, "kedua": 2, "ketiga": 3, "keempat": 4, "kelima": 5, "keenam": 6,
    "첫": 1, "두": 2, "세": 3, "네": 4, "다섯": 5,
}
"""Ordinal words that number a season ("second season", "segunda temporada", "season kedua")."""

NUMBER_WORDS: Final[Mapping[str, int]] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "um": 1, "dois": 2, "três": 3, "quatro": 4,
    "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5,
}
"""Cardinal words that follow a season word ("season two", "temporada dos", "musim dua")."""

SEASON_WORDS: Final[CueTable] = {
    "en": ("season", "seasons"),
    "es": ("temporada",),
    "pt": ("temporada",),
    "id": ("season", "musim"),
}
"""Words for "season" that are followed by a number ("season 2", "musim ke-2")."""

SEASON_NOUNS_AFTER_ORDINAL: Final[tuple[str, ...]] = ("season", "installment", "instalment")
"""English nouns an ordinal can number ("second season", "2nd installment")."""

RELATIVE_SEASON: Final[CueTable] = {
    "en": ("new season", "next season", "another season", "upcoming season", "new installment",
           "new instalment"),
    "ko": ("새 시즌", "새로운 시즌", "다음 시즌", "후속 시즌"),
    "es": ("nueva temporada", "próxima temporada", "otra temporada"),
    "pt": ("nova temporada", "próxima temporada", "outra temporada"),
    "id": ("musim baru", "season baru", "musim berikutnya", "season berikutnya"),
}
"""Phrases naming "the next season" without its number."""

NUMBER_UNITS: Final[tuple[str, ...]] = (
    "years?", "months?", "weeks?", "days?", "episodes?", "eps?", "million", "hours?", "minutes?",
    "años", "meses", "días", "tahun", "bulan", "hari", "anos",
    "년", "월", "일", "회", "화", "부", "위", "개", "명", "주", "차", "억", "만", "%",
)
"""Units after a number that show "<title> 2" is not a season ("<title> 2 years on")."""

# --- Who the season news is about -------------------------------------------------------------

COMPARISON_BEFORE: Final[CueTable] = {
    "en": ("like", "such as", "behind", "after", "following", "than", "rivals?", "rivaling", "successor to",
           "similar to", r"(?<=in the )vein of", "inspired by", r"(?<=the )next", "heir to",
           r"from the (?:makers|creators|producers|director|writer|team|studio|streamer|network)"
           r" (?:of|behind)",
           r"(?:makers|creators|director|writer|producers?|team|streamer|studio) (?:of|behind)",
           ),
    "es": ("como", "tras", r"(?<=al )estilo de", "similar a", r"(?:creadores|director|productores) de"),
    "pt": ("como", "após", "depois de", "semelhante a", r"(?:criadores|diretor|produtores) de"),
    "id": ("seperti", "setelah", "mirip", r"(?:pembuat|sutradara|kreator) (?:dari )?"),
}
"""Words just before a title that make it a comparison ("hits like X", "from the streamer behind X")."""

COMPARISON_AFTER: Final[CueTable] = {
    "en": (r"-like", r"-style",
           r"(?:'s )?(?:director|creator|writer|producer|showrunner|team|maker|star)s?(?:'s|')?"
           r" (?:[a-z-]+ ){0,3}?(?:new|next|upcoming|latest) (?:film|movie|series|show|drama|project)",
           r"(?:'s )?(?:star|actor|actress|lead|cast member)s? (?:[a-z-]+ ){0,2}?(?:joins?|boards?|lands?|"
           r"signs? on|(?:is |are )?cast in|to star in|stars? in|reunite)"),
    "ko": ("처럼", "같은", "과 같은", "와 같은", "에 이어", "에 이은", "의 뒤를", "을 잇는", "를 잇는",
           "의 인기를 잇", "의 흥행을 잇", "의 흥행에 이어", "제작진", "팀의",
           r"(?:\S+ )?(?:감독|작가|pd)(?:의|이|가)? ?(?:신작|차기작|새 작품|새 드라마)"),
}
"""Words just after a title that make it a comparison ("X-like", "'X' 제작진의 신작")."""

TITLE_STOP_WORDS: Final[frozenset[str]] = frozenset(
    "a an the for with by to in on at as and or of from its their his her our after before "
    "is are was were be been gets get got sets set confirms confirmed announces announced renews "
    "renewed releases released drops dropped unveils unveiled reveals revealed returns return "
    "returning coming comes begins began starts started wraps wrapped enters launches official "
    "officially first new second third final next another finally watch exclusive "
    "update updates report reports news breaking".split()
)
"""Capitalised words that never start a show title in Title Case headlines ("Renewed For Season 2")."""

TITLE_GENERIC_WORDS: Final[frozenset[str]] = frozenset(
    "netflix netflix's hbo max disney disney+ apple prime video amazon tvn jtbc sbs kbs mbc "
    "coupang tving wavve viki korean k-drama kdrama k-drama's drakor drama series serial serie série seri "
    "show hit zombie "
    "horror thriller apocalyptic popular acclaimed beloved streamer's streamer the a this its "
    "original global smash fan-favorite fan-favourite favourite favorite cult sci-fi fantasy "
    "romance comedy teen high school anime webtoon".split()
)
"""Capitalised words that describe a show without naming one ("Netflix's Hit Zombie Series")."""

# --- What kind of news (kind, milestone, weight, fragments) -----------------------------------

_RELEASE_VERBS: Final = (
    r"(?:premieres?|premiering|debuts?|debuting|arrives?|arriving|launch(?:es)?|lands?|streams?|"
    r"streaming|returns?|comes?|coming|hits?|drops?|releases?|released|to release)"
)
_TRAILER: Final = r"(?:teaser trailer|teaser|trailer|first look|first-look)"
_REVEAL: Final = (r"(?:releases?d?|drops?|dropped|unveils?|unveiled|reveals?|revealed|shares?|shared|debuts?|"
           r"launch(?:es|ed)?|lands?|out now|arrives?|premieres?)")

KIND_CUES: Final[tuple[tuple[str, str, float, CueTable], ...]] = (
    # A table read shown to fans is how the production was announced, even when called a teaser.
    ("production", "production_announced", 3.5, {
        "en": (r"script[- ]reading", r"table[- ]read(?:ing)?"),
        "ko": ("대본 리딩", "대본리딩"),
        "es": ("lectura de guion",),
        "pt": ("leitura de roteiro",),
        "id": ("pembacaan naskah", "reading naskah"),
    }),
    ("release_date", "release_date", 3.0, {
        "en": (r"(?:release|premiere|launch|streaming) date (?:is )?(?:officially )?(?:confirmed|announced|"
               r"revealed|set|unveiled|locked|out)",
               r"(?:sets?|confirms?|confirmed|announces?|announced|reveals?|revealed|gets?|lands?|unveils?)"
               r" (?:an? |its |the )?(?:official )?(?:[a-z]+ )?(?:release|premiere|launch) date",
               r"(?:sets?|confirms?|confirmed|announces?|announced|reveals?|revealed|unveils?) [^.,:;?!]{1,60}?"
               r"(?:season|series) (?:\d+|two|three|four|five) (?:release|premiere|launch) date",
               r"(?:set|scheduled|slated|confirmed) to (?:premiere|release|debut|stream|return|arrive)",
               r"(?:premiere|release) date announcement"),
        "ko": (r"공개일 ?(?:을 )?확정", r"공개 ?일정 ?(?:을 )?확정", r"공개를 [^.]{0,20}?확정",
               r"공개 확정", r"공개일 공개", r"방영일 ?확정", r"편성 확정"),
        "es": (r"fecha de estreno (?:confirmada|oficial|revelada)", r"confirma(?:do|da|ó)? (?:la )?fecha",
               r"anuncia(?:do|ó)? (?:la )?fecha", r"(?<=ya )tiene fecha"),
        "pt": (r"data de estreia (?:confirmada|oficial|revelada)", r"confirma(?:da|do|ou)? (?:a )?data",
               r"anuncia(?:da|do|ou)? (?:a )?data", r"ganha data"),
        "id": (r"tanggal (?:rilis|tayang) (?:resmi|diumumkan|dikonfirmasi)",
               r"(?:umumkan|mengumumkan|konfirmasi) tanggal (?:rilis|tayang)"),
    }),
    ("trailer", "trailer", 3.0, {
        "en": (r"(?:official|main|final|full|first|new|second) " + _TRAILER,
               _TRAILER + r" (?:is )?(?:here|" + _REVEAL + ")",
               _REVEAL + r" (?:the |a |an |its |first |new |official |main |final )*" + _TRAILER,
               r"watch:? (?:the )?(?:[a-z-]+ )?" + _TRAILER),
        "ko": (r"(?:티저|예고편|티저 예고편|메인 예고편|티저 포스터) ?(?:을 |를 )?(?:최초 )?(?:공개|선보|게재)",
               r"(?:메인|티저|공식|본|1차|2차) 예고편", r"티저 예고"),
        "es": (r"(?:tráiler|trailer|avance|adelanto) (?:oficial|final)",
               r"(?:lanza|estrena|revela|publica|comparte|presenta)(?:do|da|ó)? (?:el |un |su |primer )*"
               r"(?:tráiler|trailer|avance|adelanto|teaser)"),
        "pt": (r"(?:trailer|teaser) oficial", r"(?:divulga|lança|revela|libera)(?:do|da|ou)? "
               r"(?:o |um |seu |primeiro )*(?:trailer|teaser)"),
        "id": (r"(?:trailer|teaser) (?:perdana|resmi|pertama|terbaru)",
               r"(?:rilis|merilis|dirilis|luncurkan|meluncurkan|tampilkan) (?:trailer|teaser)",
               r"(?:trailer|teaser) (?:[a-z]+ ){0,4}?(?:resmi )?(?:dirilis|diluncurkan|rilis)"),
    }),
    ("production", "filming_wrap", 3.0, {
        "en": (r"(?:wraps?|wrapped|wrapping|completes?|completed|finish(?:es|ed)?|ends?|ended) "
               r"(?:up )?(?:its |the )?(?:filming|shooting|production|principal photography)",
               r"(?:filming|shooting|production|principal photography) (?:has |have |officially )*"
               r"(?:wrapped|wraps|ended|ends|finished|completed|concluded|comes to an end)",
               r"(?<=it's a )wrap", r"(?<=that's a )wrap"),
        "ko": ("크랭크업", r"촬영(?:을|이)? ?(?:모두 )?(?:마쳤|마무리|종료|끝|완료)", "마지막 촬영", "촬영 종료"),
        "es": (r"(?:terminó|termina|finaliza|finalizó|concluye|concluyó) (?:el )?(?:rodaje|la filmación|"
               r"las grabaciones)", r"(?:rodaje|filmación) (?:terminó|finalizó|concluyó)"),
        "pt": (r"(?:encerra|encerrou|termina|terminou|conclui|concluiu)(?:m)? (?:as )?(?:filmagens|gravações)",
               r"(?:filmagens|gravações) (?:terminaram|encerradas|concluídas)"),
        "id": (r"(?:selesai|rampung|merampungkan|menyelesaikan) (?:proses )?syuting",
               r"syuting (?:telah |sudah )?(?:selesai|rampung)"),
    }),
    ("production", "filming_start", 3.0, {
        "en": (r"(?:begins?|began|begun|starts?|started|commences?|commenced|kicks? off|kicked off|enters?|"
               r"entered|heads? into|goes? into|went into|underway with|resumes?|resumed) "
               r"(?:its |the )?(?:filming|shooting|production|principal photography)",
               r"(?:filming|shooting|production|principal photography|cameras?) (?:on [^.,;]{1,60}? )?"
               r"(?:has |have |had |is |are |officially |now |finally )*(?:begun|began|begins|started|starts|"
               r"kicked off|kicks off|commenced|underway|under way|rolling|started rolling|in progress)",
               r"(?<=in )production", r"(?<=into )production"),
        "ko": ("크랭크인", r"촬영(?:에|을)? ?(?:본격 )?(?:돌입|시작|착수|개시|들어갔|들어간|들어가|한창|진행 중|중)",
               r"촬영 현장", "첫 촬영"),
        "es": (r"(?:comenzó|comienza|inició|inicia|arrancó|arranca|empezó|empieza)(?:n)? (?:el |la |las )?"
               r"(?:rodaje|filmación|grabaciones|producción)",
               r"(?:rodaje|filmación|producción) (?:ya )?(?:comenzó|inició|arrancó|empezó|en marcha)"),
        "pt": (r"(?:começa|começou|começam|começaram|inicia|iniciou|iniciam)(?:m)? (?:as |a )?"
               r"(?:filmagens|gravações|produção)",
               r"(?:filmagens|gravações|produção) (?:já )?(?:começaram|começou|iniciadas|em andamento)"),
        "id": (r"mulai (?:proses )?(?:syuting|produksi)", r"(?:syuting|produksi) (?:[^.,;?]{1,60}? )?"
               r"(?:resmi |telah |sudah )*(?:dimulai|berjalan|berlangsung)", r"jalani syuting", r"menjalani syuting"),
    }),
    ("production", "delay", 2.5, {
        "en": (r"(?:production|filming|shooting|season \d+) (?:[a-z]+ ){0,5}?(?:has been |was |is |been )?"
               r"(?:delayed|pushed back|postponed|held up|halted|on hold|stalled)",
               r"(?:delays?|postpones?) (?:the )?(?:production|filming|shooting)",
               r"production delay"),
        "ko": (r"(?:촬영|제작)(?:이|을)? ?(?:연기|지연|미뤄|보류|중단)",),
        "es": (r"(?:producción|rodaje|filmación) (?:[a-z]+ ){0,3}?(?:retrasad[ao]|pospuest[ao]|aplazad[ao])",),
        "pt": (r"(?:produção|filmagens|gravações) (?:[a-z]+ ){0,3}?(?:adiad[ao]s?|atrasad[ao]s?)",),
        "id": (r"(?:produksi|syuting) (?:[a-z]+ ){0,3}?(?:ditunda|tertunda|diundur)",),
    }),
    ("production", "casting", 3.0, {
        "en": (r"joins? (?:the )?(?:cast|season)", r"joins? [^.;:?]{1,60}? (?:cast|lineup|line-up)(?![\w-])",
               r"adds? [^.;:?]{1,40}? to (?:the )?[^.;:?]{0,40}?cast(?![\w-])", r"cast (?:in|as|for)",
               r"(?:casting|cast|lineup|line-up) (?:is )?(?:confirmed|announced|revealed|unveiled|complete)",
               r"(?:confirms?|confirmed|announces?|announced|reveals?|revealed|unveils?|unveiled) "
               r"(?:the |its |new |returning |full )*(?:cast|casting|lineup|line-up)",
               r"(?:new|returning) cast(?: members?)?", r"star in", r"confirmed to (?:star|return|appear|join)",
               r"(?:will )?reprise (?:his|her|their) role"),
        "ko": (r"(?:출연|캐스팅|합류)(?:을|를|이|가)? ?(?:최종 )?(?:확정|발표)", "합류", r"캐스팅 라인업",
               r"라인업 (?:공개|확정)"),
        "es": (r"(?<=se )(?:une|suma|unen|suman) al (?:elenco|reparto)",
               r"(?:elenco|reparto) (?:confirmado|oficial|revelado)", "nuevos actores"),
        "pt": (r"(?:entra|entram|junta-se) (?:para )?(?:o|ao) elenco", r"elenco (?:confirmado|oficial|revelado)"),
        "id": (r"(?:pemain|pemeran) baru", r"bergabung (?:di|dalam|dengan)", r"daftar pemain (?:resmi|diumumkan)"),
    }),
    ("renewal", "renewal", 3.0, {
        "en": (r"renew(?:s|ed|al|ing)?", r"green[- ]?lit", r"green[- ]?lights?", r"picked up for",
               r"officially (?:coming|returning|back|confirmed|getting|happening)",
               r"(?:getting|gets|get) (?:a |its )?(?:second|third|fourth|new|another|\d+(?:st|nd|rd|th))"
               r" season",
               r"(?:confirmed|confirms|announces|announced|orders?|ordered) (?:a |the |its )?(?:second|third|fourth|"
               r"new|another) season",
               r"(?:returning|return|returns|coming back|come back|comes back|back) (?:for|with) (?:a |an |its )?"
               r"(?:season|second|third|fourth|new|another|\d)",
               r"will (?:return|be back|come back)", r"(?<=to )(?:return|be back|come back)",
               r"officially coming"),
        "ko": (r"(?:시즌 ?\d+ ?)?제작(?:을|이)? ?(?:공식 )?(?:확정|발표|결정)", r"시즌 ?\d+(?:로|으로) 돌아",
               r"시즌 ?\d+ (?:확정|공식화)", r"리뉴얼 확정"),
        "es": (r"renov(?:ó|ada|ado|ación|aron|ará)", r"renueva(?:n)?",
               r"(?:confirm(?:ó|a|ado|ada|an|aron)|anunci(?:ó|a|ado|ada)) (?:oficialmente )?(?:su |la |una )?"
               r"(?:segunda|tercera|cuarta|nueva) temporada",
               r"confirm(?:ó|a) (?:la |su )?(?:segunda|tercera|nueva)", r"regresa(?:rá)? con",
               r"volverá con"),
        "pt": (r"renova(?:da|do|ção|ou|m)?", r"confirm(?:a|ou|ada)? (?:a |uma |sua )?(?:segunda|terceira|nova) temporada",
               r"ganha(?:rá)? (?:a |uma )?(?:segunda|terceira|nova) temporada", r"vai voltar"),
        "id": (r"diperpanjang", r"(?:resmi )?(?:bakal |akan )?dibuat (?:musim|season)",
               r"(?:resmi )?(?:dapat|mendapat|punya|memiliki) (?:musim|season) (?:kedua|ketiga|baru|\d)",
               r"(?:resmi )?lanjut (?:ke )?(?:musim|season)", r"kembali (?:dengan|untuk) (?:musim|season)"),
    }),
    # Weaker forms: a bare noun or a verb that needs help from an official cue.
    ("trailer", "trailer", 2.0, {
        "en": (_TRAILER,), "ko": ("예고편", "티저"), "es": ("tráiler", "avance"),
        "pt": ("trailer",), "id": ("trailer", "cuplikan"),
    }),
    ("release_date", "release_date", 2.0, {
        "id": (r"tanggal (?:rilis|tayang)",), "ko": (r"공개일",), "es": (r"fecha de estreno",),
        "pt": (r"data de estreia",),
    }),
    ("production", "casting", 2.0, {
        "en": (r"(?:cast|casting) (?:news|update|announcement|reveal)", r"joins", "reunite"),
        "ko": (r"출연", r"캐스팅"), "es": (r"elenco",), "pt": (r"elenco",), "id": (r"pemain",),
    }),
    ("renewal", "renewal", 2.0, {
        "en": (r"(?:returns?|is back|are back|will be back|comes back|coming back)",
               r"coming to netflix"),
        "ko": (r"돌아온다", r"돌아와", r"귀환", r"컴백"),
        "es": (r"regresa", r"vuelve", r"volverá", r"tendrá"),
        "pt": (r"volta", r"voltará", r"retorna", r"terá"),
        "id": (r"kembali", r"hadir"),
    }),
)
"""Cues for each kind of news, strongest first: (kind, milestone, weight, fragments)."""

TEASER_WORDS: Final[tuple[str, ...]] = ("teaser", "티저", "avance", "adelanto", "first look", "first-look")
"""Words that make a trailer cue a teaser (a separate milestone from the full trailer)."""

RELEASE_VERBS: Final[CueTable] = {
    "en": (_RELEASE_VERBS + r"(?! (?:the |a |an |its |first |new |official |main )*(?:trailer|teaser|poster|"
           r"stills?|images?|photos?|video|clip|footage))",),
    "ko": (r"공개(?!했다)", "방영", "스트리밍", "첫 방송"),
    "es": (r"estrena(?:rá)?", "llega(?:rá)?", "estreno"),
    "pt": (r"estreia", r"chega(?:rá)?", r"estreará"),
    "id": (r"tayang", r"rilis", r"hadir"),
}
"""Verbs that, beside a date, announce a release date ("premieres January 9")."""

DATES: Final[CueTable] = {
    "en": (r"(?<=in )may", r"(?<=on )may", r"(?<=from )may", r"may \d{1,2}(?:st|nd|rd|th)?",
           r"(?:january|february|march|april|june|july|august|september|october|november|december|"
           r"jan|feb|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?(?: \d{1,2}(?:st|nd|rd|th)?)?",
           r"(?:this|next) (?:week|month|friday|thursday|wednesday|tuesday|monday|saturday|sunday|year)",
           r"(?:friday|thursday|wednesday|tuesday|monday|saturday|sunday)",
           r"20\d\d"),
    "ko": (r"\d{1,2}월(?: ?\d{1,2}일)?", r"내달(?: ?\d{1,2}일)?", r"다음 ?달", r"이번 ?주", r"다음 ?주",
           r"\d{1,2}일"),
    "es": (r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)",),
    "pt": (r"(?:janeiro|fevereiro|março|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro)",),
    "id": (r"(?:januari|februari|maret|april|mei|juni|juli|agustus|september|oktober|november|desember)",),
}
"""Date expressions (a month, a weekday, "next week", "10월 25일")."""

# --- Signals that judge how firm the news is --------------------------------------------------

SIGNALS: Final[Mapping[str, CueTable]] = {
    # Decisive: the item is made by fans, not the studio.
    "fan": {
        "en": (r"fan[- ]?made", r"fan trailer", r"fan edit", r"concept (?:trailer|teaser|video)",
               r"ai[- ]generated", r"(?<=ai )trailer", r"made with ai", "parody", r"fake trailer", "fanmade"),
        "ko": ("팬메이드", "팬 메이드", "가상 예고편", "팬 제작"),
        "es": (r"hecho por fans", r"creado por fans", r"tráiler conceptual", r"tráiler fan"),
        "pt": (r"feito por fãs", r"trailer conceitual"),
        "id": (r"buatan (?:penggemar|fans)", r"trailer konsep"),
    },
    # Decisive in a headline: a review, recap or explainer rather than news.
    "review": {
        "en": (r"reviews?", "recap", r"ending explained", "explained", "breakdown"),
        "ko": ("리뷰", "후기", "결말 해석"),
        "es": (r"reseña", "crítica", "final explicado"),
        "pt": ("resenha", "crítica", "final explicado"),
        "id": ("ulasan", "review"),
    },
    # Another medium of the same story (webtoon serialisation, manga, game), not the series.
    "medium": {
        "en": (r"serializ\w*", r"serialis\w*", r"(?:webtoon|manga|manhwa|novel|comic|game)(?:'s)? (?:season|sequel)",
               r"(?:season \d+|sequel) of the (?:webtoon|manga|manhwa|novel|comic|game)"),
        "ko": ("연재", r"(?:만화|웹툰|소설|게임) ?'", r"(?:만화|웹툰) 시즌"),
        "es": (r"(?:webtoon|manga|novela|cómic) (?:tendrá|temporada)",),
        "pt": (r"(?:webtoon|mangá|manga|romance|hq) (?:terá|temporada)",),
        "id": (r"(?:webtoon|komik|novel) (?:season|musim)",),
    },
    # Decisive in a headline, penalised in a lede: explainers and round-ups.
    "explainer": {
        "en": (r"everything (?:we|you) (?:know|need to know)", r"everything (?:about|to know)",
               r"all (?:we|you) (?:know|need to know)", r"what (?:we|you) (?:know|need to know)",
               r"here's what", r"what to expect", r"things to know", r"will there be", r"is there (?:a|an|any)",
               r"when (?:will|is|does|can|do)", r"updates? you might have missed", "predictions", "theories",
               "wishlist", r"release date, ", r"(?:cast|plot|story|trailer|spoilers|episodes), (?:cast|plot|"
               r"story|trailer|spoilers|episodes|release|news|updates|details|and)", "rumou?red", "rumou?rs?"),
        "ko": ("총정리", "출연진 정보", "등장인물 정보", "언제", "알아보", "모든 것", "궁금", "정리해"),
        "es": (r"todo (?:lo que (?:sabemos|debes saber|hay que saber|se sabe)|sobre)", r"que (?:sabemos|se sabe)",
               r"cuándo", r"qué sabemos"),
        "pt": (r"tudo (?:o que (?:sabemos|você precisa saber|se sabe)|sobre)",
               r"quando (?:estreia|chega|sai)"),
        "id": (r"semua (?:yang perlu|tentang)", r"yang perlu (?:kamu|anda) ketahui", r"kapan", "bocoran",
               r"fakta-fakta", r"apakah"),
    },
    # Weighted: hedges, hopes and reported talks.
    "speculation": {
        "en": (r"expected", "expects?", "may", "might", "could", "likely", "unlikely", r"possib(?:le|ly|ility)",
               r"potential(?:ly)?", r"speculat\w*", r"predict\w*", r"hint(?:s|ed|ing)?", r"hop(?:e|es|ed|ing)",
               r"wants?", r"wish(?:es)?", r"would (?:love|like)", r"(?<=if )season", r"(?<=if a )(?:second )?season",
               r"(?<=if there is a )(?:second )?season",
               r"(?<=in )talks", r"(?<=in )negotiations", "considering", r"is said to", "allegedly", "supposedly",
               r"leak(?:s|ed)?", r"says director", r"director says", r"fans (?:want|demand|ask|petition)",
               "reportedly", r"tipped", r"plans? for", r"would be", "would"),
        "ko": ("예상", "전망", "가능성", "루머", "관측", "검토", "논의 중", "물망", "희망", "바람", "할까", "될까",
               "나올까", "볼 수 있을까", "기대해", "카더라", "설왕설래"),
        "es": (r"podría(?:n)?", r"posible(?:mente)?", r"rumor(?:es)?", r"(?<=se )espera", r"esperan", r"querría",
               r"sería", r"habría", r"especula\w*", r"prediccion\w*", r"filtra\w*", r"quiere"),
        "pt": (r"pode(?:rá|ria)?", r"possível", r"possivelmente", r"rumor(?:es)?", r"espera-se", r"deve",
               r"seria", r"especula\w*", r"previsão"),
        "id": (r"kemungkinan", r"mungkin", r"diprediksi", r"prediksi", r"rumor", r"kabarnya", r"dikabarkan",
               r"diharapkan", r"berharap", r"harapan", r"spekulasi", r"rencana"),
    },
    # Decisive in a headline, weighted in a lede: the thing did not happen.
    "negation": {
        "en": (r"not(?! only| just| least)", r"\w+n't", "never", r"yet to", "nothing", r"den(?:y|ies|ied)",
               r"cancel(?:l?ed|s|lation)", "scrapped", r"no (?:trailer|date|release|official|news|word|plans?|"
               r"renewal|season|confirmation|announcement|update|sign|footage)"),
        "ko": ("않", r"없(?!이)", "아직", "미정", "무산", "불발", "부인", "취소", "사실무근", "아니"),
        "es": (r"no (?:ha|han|hay|habrá|tendrá|será|llegará|se ha|está|es|tiene)", "aún no", "todavía no",
               r"ningun[oa]?", r"sin fecha", r"cancelad[ao]"),
        "pt": ("não", "ainda não", r"nenhum[a]?", r"cancelad[ao]"),
        "id": ("belum", "tidak", "bukan", "batal"),
    },
    # Attribution: the studio or an agency said it.
    "official": {
        "en": (r"official(?:ly)?", r"announc(?:e|es|ed|ement)", r"confirm(?:s|ed|ation)?", r"reveal(?:s|ed)?",
               r"unveil(?:s|ed)?", r"netflix(?:'s)? (?:has |just )?(?:said|says|shared|released)", r"press release",
               r"geeked week", "tudum"),
        "ko": ("공식", "확정", "발표", r"공개했", r"밝혔", "알렸"),
        "es": (r"oficial(?:mente)?", r"confirm(?:ó|a|ado|ada|aron)", r"anunci(?:ó|a|ado|ada|aron)"),
        "pt": (r"oficial(?:mente)?", r"confirm(?:ou|a|ado|ada)", r"anunci(?:ou|a|ado|ada)"),
        "id": ("resmi", "diumumkan", "mengumumkan", "dikonfirmasi", "mengonfirmasi", "konfirmasi"),
    },
    "question": {"all": (r"\?", "¿")},
}
"""Signals by name: fan, review, medium, explainer, speculation, negation, official, question."""
