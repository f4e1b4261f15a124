"""Query understanding: what a question asks and which documents it names.

``analyze`` gives the question type (definition, list, why, how, comparison, occasion, metadata,
fact), the expected answer type (a date and how precise, a person, an organisation, a place, an
amount, a count of items) and the constraints it names, linked against what the index holds:
authors (one by one, "余澳、柯遵义", "余澳等人"), article titles (whole or partial, with or without
《》), speech occasions and dates. The vocabulary of question words is data
(``data/query.yaml``); the names come from the chunks' metadata, so an uploaded document's title
and authors link the same way as the corpus's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources

import yaml

from .patterns import DATE_ZH, cn_number  # cn_number: also read from here by answer/compose

_TITLE_IN_Q = re.compile(r"《([^《》]{2,80})》")


@lru_cache(maxsize=1)
def vocabulary() -> dict:
    """data/query.yaml, read once."""
    return yaml.safe_load((resources.files("rag") / "data" / "query.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Article:
    """One citable article as the index knows it."""

    source: str
    title: str
    authors: tuple[str, ...]
    outlet: str = ""
    date: str = ""


@dataclass
class Query:
    """A question, analysed."""

    text: str
    qtype: str = "fact"
    # day | month | year | person | org | place | agent (谁: a name or a kind of actor) | amount | model | count | ""
    expect: str = ""
    count: int = 0  # items asked for ("其余八项…"), 0 when not stated
    members: bool = False  # "具体是哪几项": the items must be enumerated, not only counted
    unit: str = ""  # the unit a quantity is asked in ("多少亿元" -> 亿元)
    # the units one of which a quantity asked by what it measures is stated in ("总金额是多少" -> 元, 美元)
    measure_units: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)  # linked by title or author
    titled: bool = False  # an article was named by its title (not only by its author)
    occasions: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)  # "2024", "2024-10", "2024-10-09"
    years: list[str] = field(default_factory=list)  # every year the question names ("2021年以后")
    people: list[str] = field(default_factory=list)  # persons the index knows (catalog authors)
    sides: list[str] = field(default_factory=list)  # "A、B和C分别…": A, B, C
    subject: str = ""  # what a definition question asks to define ("什么是未来产业" -> 未来产业)
    item: int = 0  # the place of the one list item asked for ("第四项举措是什么" -> 4)
    item_kind: str = ""  # the kind of item a list question names ("哪几种融合" -> 融合)

    def bare(self, text: str | None = None) -> str:
        """The question without the names it links (authors with the verb that reports them, the
        titles of named articles, whole or partial, compared without spaces): what is asked, for
        comparing with sentences, which never carry their authors or titles."""
        out = re.sub(r"\s+", "", self.text if text is None else text)
        if self.titled:
            titles = [re.sub(r"\s+", "", a.title) for a in self.articles]
            out = re.sub(r"《([^《》]+)》", lambda m: "" if any(m.group(1) in t for t in titles) else m.group(0), out)
            for t in sorted(titles, key=len, reverse=True):
                out = out.replace(t, "")
        verbs = "|".join(map(re.escape, vocabulary()["reporting_verbs"]))
        refs = "|".join(map(re.escape, vocabulary()["article_refs"]))
        for name in sorted(self.authors, key=len, reverse=True):
            # the name with what refers to its article and reports its words ("余澳、柯遵义那篇文章说",
            # "李晓华认为"), unless the verb is what is asked
            with_verb = re.sub(rf"{re.escape(name)}(?:等人|等)?(?:{refs})?(?:(?:{verbs})(?!的))?", "", out)
            kept = with_verb if len(re.findall(r"[\u4e00-\u9fff]", with_verb)) >= 4 else None
            out = kept if kept is not None else re.sub(rf"{re.escape(name)}(?:等人|等)?", "", out)
        return out or (self.text if text is None else text)  # nothing but names: the question itself

    def asking(self, ask: Query) -> Query:
        """This question's names (authors, articles, occasions, dates) with what ``ask``, one of its
        asks, asks for (its type, expected answer, count, items, subject, sides)."""
        return replace(
            self,
            qtype=ask.qtype,
            expect=ask.expect,
            count=ask.count,
            members=ask.members,
            unit=ask.unit,
            measure_units=ask.measure_units,
            sides=ask.sides,
            subject=ask.subject,
            item=ask.item,
            item_kind=ask.item_kind,
        )

    @property
    def constrained(self) -> bool:
        return bool(self.articles or self.occasions or self.dates)

    @property
    def is_metadata(self) -> bool:
        return self.qtype.startswith("metadata")

    @property
    def about_article(self) -> bool:
        """A question about a linked article itself, named by its title or its authors ("《…》的作者
        是谁？", "魏楚的文章发表在哪份刊物上"): the catalog answers it."""
        return self.is_metadata and bool(self.titled or self.authors) and bool(self.articles)

    def where(self) -> dict | None:
        """The linked articles as a Chroma ``where`` filter (None when nothing is linked)."""
        if not self.articles:
            return None
        if self.authors and not self.titled:  # authors matched one by one (array metadata author_list)
            terms = [{"author_list": {"$contains": a}} for a in self.authors]
        else:
            terms = [{"$and": [{"source": a.source}, {"title": a.title}]} for a in self.articles]
        return terms[0] if len(terms) == 1 else {"$or": terms}

    def matches(self, meta: dict) -> bool:
        """Does a chunk satisfy the linked constraints (any linked article; occasion or date)?"""
        if self.articles and not any(meta.get("source") == a.source and meta.get("title") == a.title for a in self.articles):
            return False
        return self.matches_occasion(meta) if (self.occasions or self.dates) else True

    def matches_occasion(self, meta: dict) -> bool:
        occ, date = meta.get("occasion", ""), meta.get("speech_date") or meta.get("date", "")
        if self.occasions and occ not in self.occasions:
            return False
        if self.dates and not any(date.startswith(d) for d in self.dates):
            return False
        return bool(occ or date)


class Linker:
    """Links names in a question to the articles, authors and occasions of the index."""

    def __init__(self, metas: list[dict]):
        seen: dict[tuple[str, str], Article] = {}
        occasions: set[str] = set()
        for m in metas:
            key = (m.get("source", ""), m.get("title", ""))
            if key not in seen:
                authors = tuple(a for a in re.split(r"[、，,;；\s]+", m.get("authors", "")) if a)
                seen[key] = Article(key[0], key[1], authors, m.get("outlet", ""), m.get("date", ""))
            if m.get("occasion"):
                occasions.add(m["occasion"])
        self.articles = list(seen.values())
        self.occasions = sorted(occasions)
        generic = set(vocabulary()["generic_names"])
        self.authors = sorted(
            {a for art in self.articles for a in art.authors if len(a) >= 2 and a not in generic}, key=lambda a: (-len(a), a)
        )  # longest first; a fixed order whatever the hash seed

    def authors_in(self, text: str) -> list[str]:
        """The authors the question names: whole, or an organisation author of five or more characters
        by a leading part that names an organisation and that no other author shares ("新华社" for
        "新华社第一工作室")."""
        found: list[str] = []
        for a in self.authors:  # longest first, so "新华社第一工作室" is not also "新华社"
            if (a in text or self._lead_in(a, text)) and not any(a in f for f in found):
                found.append(a)
        return found

    def _lead_in(self, author: str, text: str) -> bool:
        """The question names an organisation author by a leading part that is itself the name of
        an organisation (it ends with an organisation word: "新华社", "中共江苏省委"; not "中共江")."""
        if len(author) < 5:
            return False
        voc = vocabulary()
        ends = tuple(voc["org_suffixes"] + voc["author_lead_ends"])
        for n in range(len(author) - 1, 2, -1):
            lead = author[:n]
            if lead.endswith(ends) and lead in text and not any(o != author and o.startswith(lead) for o in self.authors):
                return True
        return False

    def titles_in(self, text: str) -> list[Article]:
        """Articles named by title: 《…》 matching a title (whole, or one containing the other), or a
        title of eight characters or more written out in the question."""
        named = [re.sub(r"\s+", "", t) for t in _TITLE_IN_Q.findall(text)]
        out = []
        for art in self.articles:
            t = re.sub(r"\s+", "", art.title)
            if len(t) < 4:
                continue
            if any(n == t or (len(n) >= 6 and (n in t or t in n)) for n in named) or (len(t) >= 8 and t in text):
                out.append(art)
        return out

    def occasions_in(self, text: str) -> list[str]:
        """Occasions whose distinctive part ("浙江考察", "中央财经委员会第六次会议") the question names."""
        return [occ for occ in self.occasions if speaks_of(occasion_core(occ), text)]


def speaks_of(core: str, text: str) -> bool:
    """Does ``text`` name an occasion by its distinctive part, word order and a word or two aside
    ("中共中央政治局进行第二十四次集体学习" for "二十届中央政治局第二十四次集体学习"): three
    quarters of its character pairs are in it."""
    if len(core) < 2:
        return False
    grams = {core[i : i + 2] for i in range(len(core) - 1)}
    return sum(g in text for g in grams) >= 0.75 * len(grams)


def occasion_core(occasion: str) -> str:
    """The distinctive part of a speech occasion: "在浙江考察时强调" -> "浙江考察"."""
    verbs = "|".join(map(re.escape, vocabulary()["speech_verbs"]))
    core = re.sub(rf"^在|(?:时|上|期间)?(?:的)?(?:{verbs})+.*$", "", occasion)
    return re.sub(r"(?:时|上)$", "", core)


def coordinated(text: str) -> list[str]:
    """The members of the coordination a "分别 / 各自" question asks about, each a noun phrase:
    "数字技术、网络技术和新能源技术分别遵循…" -> [数字技术, 网络技术, 新能源技术]. The closest
    coordination before the marker."""
    voc = vocabulary()
    at = min((i for m in voc["sides_markers"] if (i := text.find(m)) >= 0), default=-1)
    if at < 0:
        return []
    from .retrieve import pos_tagger  # retrieve imports this module

    conj = set(voc["conjunctions"])
    runs: list[list[str]] = [[]]  # noun runs of the current chain, newest last
    members: list[list[str]] = []  # the runs of the last chain of two or more
    for word, flag in [*pos_tagger().cut(text[:at]), ("", "")]:  # ("", ""): the end closes the last chain
        if word in conj and runs[-1]:
            runs.append([])
        elif flag[:1] in ("n", "a", "b", "j") or flag == "eng":
            runs[-1].append(word)
        else:
            full = [r for r in runs if r]
            members = full if len(full) >= 2 else members
            runs = [[]]
    if not members:
        return []
    last, head = members[-1], members[0][-1][-1]
    # Only the last member can run on past its end ("民间资金投向前沿产业，分别…"): it ends at the
    # word that ends like the first member ("资金"), or after as many words as the first member has.
    cut = next((i + 1 for i, w in enumerate(last) if w.endswith(head)), len(members[0]))
    members[-1] = last[:cut]
    sides = ["".join(r) for r in members]
    return [x for x in dict.fromkeys(sides) if len(x) >= 2] if len(set(sides)) >= 2 else []


def definition_subject(text: str) -> str:
    """What a definition question asks to define (data/query.yaml ``patterns.subject_re``), without
    words that only say where ("作者对数字经济是怎样界定的" -> 数字经济; data ``subject_preambles``)."""
    voc = vocabulary()
    m = next((m for p in voc["patterns"]["subject_re"] if (m := re.search(p, text))), None)
    subject = m.group(1).strip('“”"《》 ，,、') if m else ""
    for word in voc["subject_preambles"]:
        _, sep, rest = subject.rpartition(word)
        if sep and len(rest) >= 2:
            subject = rest
    return subject


def defines(subject: str, sentence: str, strictly: bool = False) -> bool:
    """Does the sentence open by defining ``subject`` ("未来产业是由…", "所谓X，是指…")? ``strictly``:
    the sentence starts with the subject and a definition's own verb follows ("是由", "是指")."""
    if strictly:
        pattern = vocabulary()["patterns"]["defines_strictly_re"]
        return bool(subject) and bool(re.match(rf"^{re.escape(subject)}{pattern}", sentence))
    pattern = vocabulary()["patterns"]["defines_re"]
    return bool(subject) and bool(re.match(rf"^.{{0,8}}{re.escape(subject)}.{{0,3}}{pattern}", sentence))


def org_kinds(question: str) -> list[str]:
    """The kinds of organisation a question asks for ("哪些高校" -> 高校; "哪家医院或研究团队" -> 医院,
    团队): a word of data ``org_kinds_asked`` right after "哪…" (``patterns.which_re``), and any
    joined to it by 或/还是. Quoted words ask nothing."""
    voc = vocabulary()
    kinds = "|".join(map(re.escape, sorted(voc["org_kinds_asked"], key=len, reverse=True)))
    m = re.search(
        rf"{voc['patterns']['which_re']}({kinds})((?:(?:或者|或|还是)[\u4e00-\u9fff]{{0,3}}?(?:{kinds}))*)",
        _QUOTED.sub("“”", question),
    )
    return [m.group(1), *re.findall(kinds, m.group(2))] if m else []


def person_kinds(question: str) -> list[str]:
    """The words that name the kind of person a question asks for ("哪位专家" -> 专家, 教授, …; data
    ``person_kinds_asked``), empty when it asks for any person."""
    voc = vocabulary()
    asked = _QUOTED.sub("“”", question)
    return [
        w
        for k, words in voc["person_kinds_asked"].items()
        if re.search(rf"{voc['patterns']['which_re']}{k}", asked)
        for w in words
    ]


_QUOTED = re.compile(r"“[^“”]*”|‘[^‘’]*’|「[^「」]*」|\"[^\"]*\"")


def asks(question: str) -> list[str]:
    """The separate asks of a question, in order ("《…》是哪一年印发的？它重点推进哪六大方向？" -> two;
    one for a question that asks one thing). Data: ``ask_ends``, ``ask_joiners``, ``interrogatives``
    (``not_interrogatives``: words that only contain one, 任何, 几乎); words in quotes neither end
    an ask nor make one. The asks keep the question's own spacing ("What is X? And Y?")."""
    voc = vocabulary()
    text = question.strip()
    masked = _masked(text, voc)
    ends = "|".join(map(re.escape, voc["ask_ends"]))
    joiners = "|".join(map(re.escape, voc["ask_joiners"]))
    cuts = [m.end() for m in re.finditer(rf"(?:{ends})+\s*|[，,]\s*(?=(?:{joiners}))", masked)]
    bounds = [0, *[c for c in cuts if 0 < c < len(text)], len(text)]
    pieces = [(text[a:b], masked[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    out: list[str] = []
    pending = ""  # a leading piece that asks nothing ("总书记在…时说；") joins the ask after it
    for piece, seen in pieces:
        if any(w in seen for w in voc["interrogatives"]):
            out.append(pending + piece)
            pending = ""
        elif out:
            out[-1] += piece
        else:
            pending += piece
    if pending:
        out = [*out[:-1], out[-1] + pending] if out else [pending]
    return [x.strip() for x in out if x.strip()] or [text]


def _masked(text: str, voc: dict) -> str:
    """The text, same length, with what is quoted and the words that only contain an interrogative
    (``not_interrogatives``: 任何, 几乎) blanked: where an interrogative word may be looked for."""
    masked = _QUOTED.sub(lambda m: m.group(0)[0] + "\u3000" * (len(m.group(0)) - 2) + m.group(0)[-1], text)
    for word in voc["not_interrogatives"]:
        masked = masked.replace(word, "\u3000" * len(word))
    return masked


def _asks_after(rest: str, voc: dict) -> bool:
    """Does what follows hold another ask ("…，每次退潮的原因是什么", "…起落的原因是什么")? An
    interrogative word, outside quotes."""
    masked = _masked(rest, voc)
    return any(w in masked for w in voc["interrogatives"])


def _first_cue(text: str, table: dict[str, list[str]]) -> str:
    for name, cues in table.items():
        if any(c in text for c in cues):
            return name
    return ""


def analyze(question: str, linker: Linker | None = None) -> Query:
    """Type, expected answer and linked constraints of one question."""
    voc = vocabulary()
    text = re.sub(r"\s+", "", question)
    # What the question asks is read outside the words it quotes: "“谁站稳了中国市场…”出自哪次讲话"
    # asks for an occasion, not a person.
    asked = _QUOTED.sub("“”", text)
    q = Query(question)
    q.qtype = _first_cue(asked, voc["types"]) or "fact"
    expect = _first_cue(asked, voc["expect"])
    for pattern in voc["count_re"]:
        m = re.search(pattern, asked)
        if m:
            q.count = cn_number(m.group(1))
            expect = expect or "count"
            break
    if not q.count:  # "具体是哪几项": the members of a set, at least two of them
        for pattern in voc["members_re"]:
            m = re.search(pattern, asked)
            if m:
                q.count = cn_number(m.group(1)) if m.groups() and m.group(1) else 2
                q.members = True
                expect = expect or "count"
                break
    if not expect and org_kinds(asked):  # "哪些大学", "哪个实验室": a kind of organisation asked for
        expect = "org"
    q.expect = expect
    m = re.search(voc["item_kind_re"], asked)
    if m and m.group(1) not in voc["not_item_kinds"]:  # "哪三个方面": a measure word, not a kind
        q.item_kind = m.group(1)
    elif (
        (m := re.search(voc["item_kind_before_re"], text))  # (asked has its quotes emptied)
        and m.group(1) not in voc["not_item_kinds"]
        and not re.match(r"[一二两三四五六七八九十百\d]+[个大项条类种点]", m.group(1))  # a list's own name, "“六大方向”"
    ):
        q.item_kind = m.group(1)
    m = re.search(voc["item_re"], asked)
    if m and not q.count:
        q.item = cn_number(m.group(1))
        kind = m.group(2).strip("“”的")  # "第二种效应是什么" -> 效应: the kind of item, as for "哪几种效应"
        if not q.item_kind and len(kind) >= 2 and kind not in voc["not_item_kinds"]:
            q.item_kind = kind
    not_quantity = "".join(voc["ji_not_quantity_after"])
    units = "|".join(map(re.escape, voc["units"]))
    m = re.search(rf"多少(?:个)?({units})", asked) or (
        # 几 asks a quantity unless it is part of a numeral (几十, 几百) or the question asks with 多少
        None if "多少" in asked else re.search(rf"(?<![{not_quantity}])几(?![十百千万])(?:个)?({units})", asked)
    )
    if m and m.group(0).startswith("几") and q.qtype in ("why", "how") and _asks_after(asked[m.end() :], voc):
        # "过去几十年几次起起落落，每次退潮的原因是什么": in a why/how question, 几次 before the ask says
        # "a few times" ("有几家企业入选，标准是什么" and "建了几个实验室，分别在哪里" still ask a number)
        m = None
    if m and expect in ("amount", "count", "") and q.qtype != "list":
        q.unit, q.expect = m.group(1), "amount" if expect != "count" else expect
    if q.expect == "amount" and not q.unit:  # "总金额是多少": a sum of money, in a currency
        measures = "|".join(map(re.escape, voc["measure_units"]))
        m = re.search(voc["patterns"]["measure_asked_re"].format(measures=measures), asked)
        q.measure_units = list(voc["measure_units"][m.group(1)]) if m else []
    if q.item:  # "几种效应里，第二种是什么": the item is asked for, not a number
        q.expect, q.unit = "", ""
    for m in DATE_ZH.finditer(text):
        y, mo, d = m.groups()
        q.years.append(y)
        q.dates.append(y + (f"-{int(mo):02d}" if mo else "") + (f"-{int(d):02d}" if mo and d else ""))
    if linker is not None:
        q.authors = linker.authors_in(text)
        q.people = linker.authors
        titled = linker.titles_in(text)
        q.titled = bool(titled)
        by_author = [a for a in linker.articles if any(x in a.authors for x in q.authors)]
        q.articles = list(dict.fromkeys(titled or by_author))
        q.occasions = linker.occasions_in(text)
    if len(q.authors) < 2:  # named authors are the sides of their own comparison
        q.sides = coordinated(text)
    if q.qtype == "definition":
        q.subject = definition_subject(q.bare(text))
    # A date in the question constrains the answer only together with an occasion (a speech's
    # date); otherwise "2022年我国…" is part of what is asked about, not a filter.
    if not q.occasions:
        q.dates = []
    return q
