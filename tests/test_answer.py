"""The answer engine: cited answers, who-said-what, and honest refusals."""

from __future__ import annotations

import re

import pytest

from bot.answer import classify
from index.errors import InputError

from .conftest import SEED_ID


def _assert_citations_are_exact(engine, answer):
    """Every [n] exists, and every cited span is the passage text at its offsets."""
    numbers = {c.n for c in answer.citations}
    for line in answer.lines:
        assert set(line.citations) <= numbers
        quoted = line.text.split("“", 1)[1].rstrip("”") if "“" in line.text else line.text
        for n in line.citations:  # the cited passage holds the line's words
            passage = " ".join(answer.citations[n - 1].passage.split())
            assert " ".join(quoted.strip("…").split()) in passage
    for c in answer.citations:
        article = engine.store.article_text(c.article_id)
        assert article[c.start:c.end] == c.passage
        for start, end in c.highlights:
            assert c.start <= start < end <= c.end


def test_who_said_the_christmas_gift_names_obrien_with_role_and_quote(seed_engine):
    a = seed_engine.ask("Who said the Christmas gift didn't come?")
    assert a.kind == "who_said" and a.found
    assert a.lines[0].text.startswith("Robert O’Brien, White House national security adviser, said:")
    assert "the Christmas gift didn’t come" in a.answer
    cited = a.citations[a.lines[0].citations[0] - 1]
    assert "the Christmas gift didn’t come" in cited.passage
    start, end = cited.highlights[0]
    assert seed_engine.store.article_text(SEED_ID)[start:end].startswith("All we know is")
    _assert_citations_are_exact(seed_engine, a)


def test_what_did_obrien_say_about_negotiations_gives_the_stockholm_quote(seed_engine):
    for question in ("What did O'Brien say about negotiations?", "what did obrien say about the negotiations"):
        a = seed_engine.ask(question)
        assert a.kind == "person_said" and a.found
        assert "continue the negotiations in Stockholm" in a.lines[0].text
        assert all(q.canonical_speaker == "Robert O’Brien" for q in a.quotes)
        _assert_citations_are_exact(seed_engine, a)


def test_general_question_is_answered_from_the_passage_that_says_it(seed_engine):
    a = seed_engine.ask("What happened in Stockholm?")
    assert a.kind == "general" and a.found
    assert "Stockholm" in a.lines[0].text
    for line in a.lines:  # each line is copied from the passage it cites
        for n in line.citations:
            assert " ".join(line.text.split()) in " ".join(a.citations[n - 1].passage.split())
    _assert_citations_are_exact(seed_engine, a)


@pytest.mark.parametrize(
    "question",
    [
        "What did the Reserve Bank decide about interest rates?",
        "Who won the football final in Madrid?",
        "What did Angela Merkel say about climate change?",
    ],
)
def test_absent_topics_are_refused_with_closest_passages(seed_engine, question):
    a = seed_engine.ask(question)
    assert not a.found
    assert "don't" in a.answer
    assert all(not line.citations for line in a.lines)


def test_person_never_quoted_is_said_plainly(corpus_engine):
    a = corpus_engine.ask("What did Vladimir Putin say about Iraq?")
    assert not a.found and "Putin" in a.answer


def test_who_said_on_the_wider_corpus(corpus_engine):
    a = corpus_engine.ask("Who described the AMP result as solid?")
    assert a.found and "Batchelor" in a.answer
    _assert_citations_are_exact(corpus_engine, a)


def test_empty_and_overlong_questions_are_input_errors(seed_engine):
    with pytest.raises(InputError):
        seed_engine.ask("   ")
    with pytest.raises(InputError):
        seed_engine.ask("why " * 400)


@pytest.mark.parametrize(
    ("question", "kind", "person", "topic"),
    [
        ("Who said the Christmas gift didn't come?", "who_said", None, None),
        ("which official warned that the talks could collapse?", "who_said", None, None),
        ("What did O'Brien say about North Korea?", "person_said", "O'Brien", "North Korea"),
        ("What did Robert O'Brien tell Axios about Kim?", "person_said", "Robert O'Brien", "Kim"),
        ("How did Kim Jong Un describe US policies?", "person_said", "Kim Jong Un", "US policies"),
        ("Batchelor's comments on the result", "person_said", "Batchelor", "the result"),
        ("What did Tom Kinton say the flight attendants did?", "person_said", "Tom Kinton", "the flight attendants did"),
        ("What did Howard say yesterday?", "person_said", "Howard", None),
        ("What happened in Stockholm?", "general", None, None),
        ("What did they say?", "general", None, None),
        ("Which senate leader was announced as the new president?", "general", None, None),  # passive: not a speaker
        ("Which minister was quoted as saying the budget is safe?", "who_said", None, None),
        ("Who voiced concern for the other patients?", "who_said", None, None),
        ("What did Tim, a former student, say the bullies did?", "person_said", "Tim", "the bullies did"),
        ("What explanation did Adolfo Rodriguez Saa give for resigning?", "person_said", "Adolfo Rodriguez Saa", "resigning"),
        ("What did the White House spokesman, Ari Fleischer, say about Russia?", "person_said", "Ari Fleischer", "Russia"),
        ("Who expressed interest in buying the airline?", "general", None, None),  # interest is not speech
    ],
)
def test_question_kinds(question, kind, person, topic):
    parsed = classify(question)
    assert (parsed.kind, parsed.person, parsed.topic) == (kind, person, topic)


def test_json_shape(seed_engine):
    data = seed_engine.ask("Who said the Christmas gift didn't come?").to_json()
    assert set(data) >= {"kind", "answer", "citations", "quotes", "found"}
    assert set(data["citations"][0]) >= {"n", "article_id", "title", "url", "chunk_id", "start", "end", "passage", "score"}


def test_example_questions_come_from_the_corpus_and_are_answerable(seed_engine):
    examples = seed_engine.example_questions(2)
    assert len(examples) == 2
    for q in examples:
        assert seed_engine.ask(q).found, q


def test_a_quote_longer_than_a_passage_is_cited_only_where_the_passage_holds_it(make_engine, tmp_path):
    sentences = " ".join(f"Point number {k} is that the harbour needs dredging before winter storms arrive." for k in range(14))
    (tmp_path / "long.txt").write_text(f"Harbour plan\n\nMayor Jane Doe spoke on Monday.\n\n\u201c{sentences}\u201d Doe said.\n")
    engine = make_engine("longquote", tmp_path / "long.txt")
    answer = engine.ask("What did Jane Doe say about dredging?")
    assert answer.found and answer.kind == "person_said"
    _assert_citations_are_exact(engine, answer)


_TENNIS = (
    "Seles leads US to Hopman Cup win\n\n"
    "The United States team of Monica Seles and Jan-Michael Gambill scored a decisive victory over France "
    "in their first Hopman Cup match at Burswood Dome in Perth on Monday. Seles beat Nathalie Dechy 6-3, 6-2. "
    "The crowd of 8,000 cheered as Gambill won the mixed doubles."
)
_SIEGE = (
    "Chechen warlord jailed for life\n\n"
    "Russian authorities have sentenced Chechen warlord Salman Raduyev to life in prison for a 1996 hostage siege. "
    "More than 200 people died during the siege, prosecutors said, and dozens of families lost their houses. "
    "Raduyev showed no emotion as the verdict was read out on Tuesday."
)


@pytest.fixture(scope="module")
def sports_engine(engine_over):
    return engine_over("typed", {"tennis.txt": _TENNIS, "siege.txt": _SIEGE})


def test_light_verbs_of_a_question_are_not_required_in_the_answer(seed_engine):
    """"held", "due", "take place" say nothing the passage must repeat; the place must be there."""
    a = seed_engine.ask("Where will the talks be held?")
    assert a.found and "Stockholm" in a.answer


def test_a_named_event_the_articles_never_mention_is_refused(sports_engine):
    """Same topic (a cup, a winner), other event: the Hopman Cup does not answer the World Cup."""
    assert sports_engine.ask("Who won the Hopman Cup match in Perth?").found
    a = sports_engine.ask("Who won the 2002 FIFA World Cup?")
    assert not a.found and "don't" in a.answer


def test_questions_asking_for_a_place_or_a_name_need_one_in_the_answer(sports_engine):
    """The siege article says when and how many, not where or who the prosecutors were."""
    assert sports_engine.ask("How many people died in the siege?").found
    assert not sports_engine.ask("In which city was Salman Raduyev put on trial?").found
    assert not sports_engine.ask("What was the name of the prosecutor in the Raduyev case?").found


def test_how_many_people_died_or_were_hurt_needs_that_event_in_the_answer(sports_engine):
    """The siege article counts deaths, not injuries."""
    a = sports_engine.ask("How many people died in the siege?")
    assert a.found and "200" in a.answer
    assert not sports_engine.ask("How many people were injured in the siege?").found
    from bot.answer import _count_event

    event = _count_event("How many police were injured?")
    assert re.search(event, "two grenades exploded, injuring one policeman")  # any form of the word


def test_how_many_needs_a_number_that_counts_what_was_asked(sports_engine):
    a = sports_engine.ask("How many people were in the crowd at the Hopman Cup match?")
    assert a.found and "8,000" in a.answer


@pytest.mark.parametrize(
    ("sentence", "ok"),
    [
        ("About 150 houses had been lost by Sunday.", True),
        ("Dozens of houses burned overnight.", True),
        ("Dozens of families lost their houses.", False),  # counts families, not houses
        ("About 2000 houses lost power.", True),  # a count, though it looks like a year
        ("In March 2001, the houses were sold.", False),  # a year, not a count
        ("The 57th race saw houses on the shore flooded.", False),  # an ordinal counts nothing
        ("A crowd of 8,000 watched the fire.", True),  # no houses named: another word may count them
    ],
)
def test_the_number_must_count_what_was_asked(sentence, ok):
    from bot.answer import _has_answer_type

    assert _has_answer_type("number", sentence, "How many houses were destroyed?", None) is ok


def test_a_name_question_is_answered_by_the_sentence_that_gives_the_name(sports_engine):
    """The sentence need not repeat what is named ("player"): the name is enough."""
    a = sports_engine.ask("What is the name of the player Seles beat?")
    assert a.found and "Dechy" in a.answer


def test_a_short_quote_is_judged_with_the_sentence_around_it(make_engine, tmp_path):
    """"as soon as we can" says nothing of a sea wall; its sentence does."""
    (tmp_path / "wall.txt").write_text(
        "Council backs harbour plan\n\n"
        "Mayor Jane Doe opened the new library on Monday and thanked the volunteers who built it. "
        "Later, Doe said the council would build the sea wall, \u201cas soon as we can.\u201d "
        "The council will vote on the budget next month.\n"
    )
    engine = make_engine("shortquote", tmp_path / "wall.txt")
    a = engine.ask("What did Jane Doe say about the sea wall?")
    assert a.found and a.lines[0].text.startswith("Jane Doe, Mayor, said: “as soon as we can")  # the quote, attributed
    assert [x.text for x in a.quotes] == ["as soon as we can."]
    _assert_citations_are_exact(engine, a)


_OUTBACK = (
    "Tourists rescued from the Finke River\n\n"
    "Police are escorting two Swiss tourists back to central Australia after their vehicle sank in sand in the Finke River overnight. "
    "A police spokesman says the pair had enough water. "
    "After more than 400 kilometres of paddling, a Melbourne team took out the K-one Cup canoe marathon on Sunday."
)
_RELAY = (
    "Sydney pair wins ocean relay\n\n"
    "The Sydney pair won the Bass Strait ocean relay in a time of 31 hours and 12 minutes. "
    "Their boat was built in Hobart."
)


@pytest.fixture(scope="module")
def outback_engine(engine_over):
    return engine_over("outback", {"outback.txt": _OUTBACK, "relay.txt": _RELAY})


def test_asking_for_names_the_article_never_gives_is_refused(outback_engine):
    """The story is about the tourists, but never names them: no sentence can answer."""
    a = outback_engine.ask("What were the names of the two Swiss tourists stranded in the Finke River?")
    assert not a.found and "don't" in a.answer


def test_a_winning_time_needs_a_duration_in_the_answer(outback_engine):
    """400 kilometres is a number but not a time; 31 hours and 12 minutes is."""
    assert not outback_engine.ask("What was the winning time of the Melbourne team in the K-one Cup?").found
    a = outback_engine.ask("What was the winning time of the Sydney pair in the ocean relay?")
    assert a.found and "31 hours" in a.answer


@pytest.mark.parametrize(
    ("sentence", "ok"),
    [
        ("She won in 2:05:30.", True),
        ("The siege lasted three days.", True),
        ("The match took 91 minutes.", True),
        ("After 400 kilometres the team won.", False),
        ("The team won on 12 January.", False),
        ("The 25-year-old won.", False),  # an age
        ("Talks began at 10:30 am.", False),  # a clock time
        ("He was hurt in 2001, years after the crash.", False),
    ],
)
def test_durations(sentence, ok):
    from bot.answer import _has_answer_type

    assert _has_answer_type("duration", sentence, "How long did it take?", None) is ok


def test_a_topic_named_elsewhere_in_the_article_still_finds_the_quote(make_engine, tmp_path):
    """The quote's passage never repeats "Hopman Cup"; the article's first passage does."""
    filler = " ".join(f"In set {k} the rallies were long and the crowd was loud." for k in range(12))
    (tmp_path / "cup.txt").write_text(
        "US team wins opening tie\n\n"
        f"Jan-Michael Gambill beat Arnaud Clement 6-4, 6-4 at the Hopman Cup in Perth. {filler}\n\n"
        "\u201cArnaud is a great scrapper and I am delighted to beat him,\u201d Gambill said after beating Clement.\n"
    )
    engine = make_engine("cup", tmp_path / "cup.txt")
    quote = next(q for q in engine.quotes() if "scrapper" in q.text)
    assert "Hopman" not in engine.passage(quote.chunk_id).text  # the case this test is about
    a = engine.ask("What did Gambill say about his Hopman Cup win over Arnaud Clement?")
    assert a.found and "great scrapper" in a.answer
    _assert_citations_are_exact(engine, a)


def test_plural_names_match_their_singular():
    from bot.answer import _missing_names

    assert _missing_names(["Arabs"], "One Arab was taken into custody.") == 0
    assert _missing_names(["Arabs"], "One Yemeni was taken into custody.") == 1


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What was the winning time of the Melbourne team?", "duration"),
        ("Who set the fastest time in Berlin?", "agent"),  # a person, not a time
        ("When is the best time to see the comet?", "time"),
        ("What were the names of the two Swiss tourists?", "person"),
        ("What were the names of the three gunmen?", "person"),
        ("What is the name of the players' union?", "org"),  # "players'" only modifies the union
        ("What is the name of the children's hospital?", "place"),
        ("What is the name of the union representing the cricketers?", "org"),  # the first noun is the head
        ("Which senate leader was announced as president?", "agent"),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question, expected):
    from bot.answer import _expected_answer_type

    assert _expected_answer_type(question) == expected


def test_a_plural_name_does_not_match_other_words():
    from bot.answer import _missing_names

    assert _missing_names(["Davis"], "David said hello.") == 1
    assert _missing_names(["Wells"], "He did well.") == 1
    assert _missing_names(["Democrats"], "the Democrat leader") == 0


def test_a_when_or_how_many_question_needs_a_time_or_a_number(make_engine, tmp_path):
    """"after a long debate" is no date, and a sentence without a number counts nothing."""
    (tmp_path / "library.txt").write_text(
        "Council approves new library\n\n"
        "The city council approved the new library after a long debate. "
        "The mayor praised the architects who designed the new library.\n"
    )
    engine = make_engine("library", tmp_path / "library.txt")
    assert engine.ask("What did the city council approve after a long debate?").found  # the article is found
    assert not engine.ask("When did the city council approve the new library?").found
    assert not engine.ask("How many councillors voted to approve the new library?").found


def test_a_title_alone_finds_the_speaker_with_that_role(make_engine, tmp_path):
    """"the Queen" is no name, but the article calls Elizabeth II "Britain's Queen"."""
    (tmp_path / "queen.txt").write_text(
        "Queen speaks of faith at Christmas\n\n"
        "Britain's Queen Elizabeth II used her Christmas message to speak of faith after a year of terror. "
        "\u201cEvery one of us needs to believe in the value of all that is good and honest,\u201d "
        "the Queen said. The message was broadcast across the Commonwealth.\n"
    )
    engine = make_engine("queen", tmp_path / "queen.txt")
    assert engine.match_speakers("the Queen") == ["Elizabeth II"]
    a = engine.ask("What did the Queen say about believing in what is good in a year of terrorism?")
    assert a.found and a.quotes and a.quotes[0].canonical_speaker == "Elizabeth II"
    assert "value of all that is good" in a.answer


def test_who_said_prefers_the_quote_in_the_passage_that_matches_the_whole_question(make_engine, tmp_path):
    """A one-word scare quote ("nasty") near the top of the story is not what Sullivan warned."""
    import json

    from .conftest import ROOT

    rows = (ROOT / "bench" / "data" / "lee_background.jsonl").read_text(encoding="utf-8").splitlines()
    article = next(json.loads(r) for r in rows if '"leebg-033"' in r)
    (tmp_path / "fires.jsonl").write_text(json.dumps(article) + "\n", encoding="utf-8")
    engine = make_engine("fires", tmp_path / "fires.jsonl")
    a = engine.ask("Who warned that the weekend could be a nasty couple of days for NSW firefighters?")
    assert a.found and a.quotes and a.quotes[0].canonical_speaker == "Mark Sullivan"


def test_amounts_and_times_in_any_form_still_answer(make_engine, tmp_path):
    """"$5m", "Fifteen", "overnight", "120km/h" are amounts and times, though not bare numbers."""
    (tmp_path / "bridge.txt").write_text(
        "Glenbrook bridge reopens after storm\n\n"
        "The Glenbrook harbour bridge reopened overnight after storm damage closed it last month. "
        "Repairs to the bridge deck cost $5m, the council said. "
        "Fifteen council workers were injured during the storm clean-up. "
        "Winds reached 120km/h when the storm crossed the harbour.\n"
    )
    engine = make_engine("bridge", tmp_path / "bridge.txt")
    assert "overnight" in engine.ask("When did the Glenbrook harbour bridge reopen?").answer
    assert "$5m" in engine.ask("How much did the repairs to the bridge deck cost?").answer
    assert "Fifteen" in engine.ask("How many council workers were injured in the storm clean-up?").answer
    assert "120km/h" in engine.ask("How fast were the winds when the storm crossed the harbour?").answer


def test_a_title_that_fits_several_speakers_or_none_picks_nobody():
    from bot.answer import _by_role

    roles = [("Bush", "President"), ("Thabo Mbeki", "South African President"), ("Ludde Ingvall", "skipper of Nicorette")]
    assert _by_role("the South African President", roles) == ["Thabo Mbeki"]
    assert _by_role("the President", roles) == []  # which one?
    assert _by_role("the French President", roles) == []  # no French one
    assert _by_role("Nicorette", roles) == []  # a yacht, not a title


def test_a_name_question_needs_the_name_next_to_what_it_names(make_engine, tmp_path):
    """The sentence speaks of "the man" but the name in it is the spokesman's."""
    (tmp_path / "airport.txt").write_text(
        "Gun found in hand luggage at Memphis airport\n\n"
        "Police arrested a man at Memphis airport after a loaded pistol was found in his hand luggage. "
        "The man, who flew in from Atlanta, had passed two security checks, police spokesman John Hardy said.\n"
    )
    (tmp_path / "harbour.txt").write_text(
        "Harbour swimmer rescued\n\n"
        "A swimmer was pulled from Sydney Harbour on Sunday after being stung by jellyfish. "
        "Police named the swimmer as Peter Jones, a 34-year-old teacher from Manly.\n"
    )
    engine = make_engine("airport", tmp_path)
    assert not engine.ask("What was the name of the man who flew in from Atlanta with a pistol?").found
    a = engine.ask("What was the name of the swimmer pulled from Sydney Harbour?")
    assert a.found and "Peter Jones" in a.answer


def test_names_near_a_noun():
    from index.entities import EntityTagger
    from index.settings import DEFAULT_SPACY_MODEL

    tagger = EntityTagger(DEFAULT_SPACY_MODEL)
    assert [e.text for e in tagger.names_near("The skipper, Ian Murray, was delighted.", "skipper")] == ["Ian Murray"]
    assert tagger.names_near("His partner was with him, McReddie added.", "partner") == ()
    assert tagger.names_near("Ian Murray was delighted.", "skipper") is None  # no skipper mentioned
