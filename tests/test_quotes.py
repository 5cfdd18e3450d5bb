"""Quote extraction: spans, attribution patterns, speaker resolution, roles, matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import ConfigError
from index.quotes import MATCH_THRESHOLD, Quote, QuoteExtractor, match_speakers
from index.settings import DEFAULT_SPACY_MODEL

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_234da9cac87d4b52.txt"


@pytest.fixture(scope="module")
def ex() -> QuoteExtractor:
    return QuoteExtractor(DEFAULT_SPACY_MODEL)


def extract(ex: QuoteExtractor, text: str) -> list[Quote]:
    quotes = ex.extract(text)
    for q in quotes:  # the storage contract, checked on every test
        assert text[q.start : q.end] == q.text
        assert q.text == q.text.strip() and q.text
        if q.speaker_start >= 0:
            assert text[q.speaker_start : q.speaker_end] == q.speaker
    assert [q.start for q in quotes] == sorted(q.start for q in quotes)
    return quotes


def find(quotes: list[Quote], words: str) -> Quote:
    hits = [q for q in quotes if words in q.text]
    assert len(hits) == 1, f"{words!r} in {[q.text for q in quotes]}"
    return hits[0]


# ----------------------------------------------------------------- attribution patterns


def test_attribution_after_quote(ex):
    text = (
        "Treasury secretary Jane Whitfield said the budget was on track.\n\n"
        '"We expect a small surplus next year," Whitfield said.'
    )
    (q,) = extract(ex, text)
    assert q.text == "We expect a small surplus next year,"
    assert q.speaker == "Whitfield"
    assert q.canonical_speaker == "Jane Whitfield"
    assert q.cue == "said"
    assert q.role == "Treasury secretary"


def test_inverted_attribution_after_quote(ex):
    text = '"Families are paying more than ever," said Mark Dobson, the shadow energy minister.'
    (q,) = extract(ex, text)
    assert q.canonical_speaker == "Mark Dobson"
    assert q.role == "shadow energy minister"


def test_attribution_before_quote_with_colon(ex):
    text = (
        "Health Minister Ruth Kendall visited the hospital on Monday. "
        'She said: "The new wing will open in March."'
    )
    (q,) = extract(ex, text)
    assert q.text == "The new wing will open in March."
    assert q.speaker == "She"
    assert q.canonical_speaker == "Ruth Kendall"
    assert q.role == "Health Minister"


def test_split_quote_both_parts_get_the_speaker(ex):
    text = (
        "Fire chief Dan Morrow inspected the damage. "
        '"We were lucky," he said, "because the wind changed just in time."'
    )
    quotes = extract(ex, text)
    assert [q.text for q in quotes] == ["We were lucky,", "because the wind changed just in time."]
    assert {q.canonical_speaker for q in quotes} == {"Dan Morrow"}
    assert all(q.cue == "said" for q in quotes)


def test_according_to(ex):
    text = 'According to the Bureau of Meteorology, "the heaviest rain is expected on Friday".'
    (q,) = extract(ex, text)
    assert q.cue == "according to"
    assert q.canonical_speaker == "Bureau of Meteorology"


def test_multi_sentence_quote_is_one_quote(ex):
    text = (
        '"The road is closed. Nobody can get through. Stay home," police spokesman Ian Kerr said.'
    )
    (q,) = extract(ex, text)
    assert q.text == "The road is closed. Nobody can get through. Stay home,"
    assert q.canonical_speaker == "Ian Kerr"
    assert q.role == "police spokesman"


def test_quote_continued_into_next_paragraph(ex):
    text = (
        "Emergency services commissioner Carla Moss briefed reporters.\n\n"
        "\u201cWe have 40 crews in the field,\u201d Ms Moss said. \u201cThey will work through the night.\n\n"
        "\u201cPlease stay off the roads.\u201d\n\n"
        "The storm is expected to ease on Sunday."
    )
    quotes = extract(ex, text)
    assert [q.text for q in quotes] == [
        "We have 40 crews in the field,",
        "They will work through the night.",
        "Please stay off the roads.",
    ]
    assert {q.canonical_speaker for q in quotes} == {"Carla Moss"}


def test_bare_quote_paragraph_after_attributed_quote(ex):
    text = (
        "\u201cThe results speak for themselves,\u201d coach Anna Bell said.\n\n"
        "\u201cAnd I think the players deserve the credit. They trained hard all winter.\u201d\n\n"
        "The club plays again next week."
    )
    quotes = extract(ex, text)
    assert len(quotes) == 2
    assert quotes[1].text.startswith("And I think the players")
    assert quotes[1].canonical_speaker == "Anna Bell"


def test_flattened_continuation_without_closing_mark(ex):
    # One-line articles (wire copy, the Lee corpus) keep the paragraph convention:
    # a quote left open is followed by a new opening mark.
    text = (
        'Coach Ray Tully says the team is ready. "We have trained for this," he said. '
        '"Every player knows his job. "Now we have to go out and do it." The final is on Saturday.'
    )
    quotes = extract(ex, text)
    assert [q.text for q in quotes] == [
        "We have trained for this,",
        "Every player knows his job.",
        "Now we have to go out and do it.",
    ]
    assert {q.canonical_speaker for q in quotes} == {"Ray Tully"}


def test_unattributed_first_part_takes_later_attribution(ex):
    text = (
        'Council chief Mitch Porter says the plan is sound. "We consulted widely. '
        '"Nobody was left out," Mr Porter said.'
    )
    quotes = extract(ex, text)
    assert [q.canonical_speaker for q in quotes] == ["Mitch Porter", "Mitch Porter"]


# --------------------------------------------------------------------- speaker resolution


def test_pronoun_resolves_to_full_name_given_earlier(ex):
    text = (
        "Opposition leader Sarah Quinn says the policy has failed. "
        '"It is a mess and everyone knows it," she said.'
    )
    (q,) = extract(ex, text)
    assert q.speaker == "she"
    assert q.canonical_speaker == "Sarah Quinn"
    assert q.role == "Opposition leader"


def test_pronoun_respects_gender_learnt_from_the_article(ex):
    text = (
        "Mayor Linda Cho met developer Tom Reyes on Monday. Cho said she was disappointed. "
        'Reyes said he would appeal. "We will take this to court," he said. '
        '"I have no regrets," she said.'
    )
    quotes = extract(ex, text)
    assert [q.canonical_speaker for q in quotes] == ["Tom Reyes", "Linda Cho"]


def test_short_form_surname_resolution(ex):
    text = (
        "Bureau of Meteorology forecaster Claire Richards says more rain is coming. "
        "Prime Minister John Howard visited the flood zone. "
        '"We will rebuild," Mr Howard said. "The falls were isolated," Ms Richards said.'
    )
    quotes = extract(ex, text)
    assert [q.speaker for q in quotes] == ["Howard", "Richards"]
    assert [q.canonical_speaker for q in quotes] == ["John Howard", "Claire Richards"]
    assert quotes[0].role == "Prime Minister"
    assert "forecaster" in quotes[1].role


def test_hyphenated_first_name_is_kept_whole(ex):
    """spaCy splits "Jan-Michael" and tags only "Michael Gambill"; the name is the whole."""
    text = (
        "The United States team of Monica Seles and Jan-Michael Gambill beat France in Perth. "
        '"It was a great start to my year," Gambill said.'
    )
    (q,) = extract(ex, text)
    assert q.canonical_speaker == "Jan-Michael Gambill"


def test_a_thing_is_never_the_speaker(ex):
    """"predicting" has no subject of its own; "lighter winds" belongs to another verb."""
    text = (
        "New South Wales firefighters are hoping lighter winds will help ease their workload today "
        'but are predicting "nasty" conditions over the weekend.'
    )
    (q,) = extract(ex, text)
    assert q.canonical_speaker == "New South Wales firefighters"  # the subject of "are hoping … but are predicting"


def test_surname_match_ignores_apostrophe_style_but_keeps_spelling(ex):
    text = (
        "Local farmer Tom O'Neill described the rain as a blessing.\n\n"
        "\u201cThe dams are full,\u201d O\u2019Neill said."
    )
    (q,) = extract(ex, text)
    assert q.speaker == "O\u2019Neill"  # as written in the attribution
    assert q.canonical_speaker == "Tom O'Neill"  # as written in the full name
    assert q.role == "Local farmer"


def test_role_from_appositive_is_stored_on_every_quote(ex):
    text = (
        "Robert Hale, the national security adviser, spoke to reporters. "
        '"Talks will resume," Hale said. "We are hopeful," he said.'
    )
    quotes = extract(ex, text)
    assert len(quotes) == 2
    assert all(q.canonical_speaker == "Robert Hale" for q in quotes)
    assert all(q.role == "national security adviser" for q in quotes)


def test_role_when_name_is_the_appositive(ex):
    text = (
        "The hospital's chief executive officer, Tony Sherwood, says no patient was at risk. "
        '"We acted quickly," he said.'
    )
    (q,) = extract(ex, text)
    assert q.canonical_speaker == "Tony Sherwood"
    assert q.role is not None and "chief executive officer" in q.role


def test_role_noun_refers_back_to_the_person(ex):
    text = (
        "Indian Prime Minister Atal Vajpayee arrived in Kathmandu. "
        '"Talks are possible," the Prime Minister said.'
    )
    (q,) = extract(ex, text)
    assert q.speaker == "the Prime Minister"
    assert q.canonical_speaker == "Atal Vajpayee"


def test_unnamed_speaker_keeps_the_description(ex):
    text = '"We cannot confirm the numbers," a police spokeswoman said.'
    (q,) = extract(ex, text)
    assert q.speaker == "a police spokeswoman"
    assert q.canonical_speaker == "police spokeswoman"


def test_quoted_as_saying(ex):
    text = (
        '"The man will be referred to the court," the state news agency quoted an '
        "unidentified ministry official as saying."
    )
    (q,) = extract(ex, text)
    assert q.canonical_speaker == "unidentified ministry official"


# ------------------------------------------------------------------------- quote marks


def test_curly_and_straight_quotes(ex):
    text = (
        "Senator Ann Lowe spoke first. \u201cThis bill is overdue,\u201d Lowe said. "
        'Senator Mark Pike disagreed. "It is rushed," Pike said.'
    )
    quotes = extract(ex, text)
    assert [(q.text, q.canonical_speaker) for q in quotes] == [
        ("This bill is overdue,", "Ann Lowe"),
        ("It is rushed,", "Mark Pike"),
    ]


def test_single_curly_quotes_when_clearly_quotes(ex):
    text = "Manager Ole Berg insists the title race is open.\n\n\u2018We are not giving up,\u2019 Berg told reporters."
    (q,) = extract(ex, text)
    assert q.text == "We are not giving up,"
    assert q.canonical_speaker == "Ole Berg"


def test_apostrophes_are_not_quote_marks(ex):
    text = (
        "President Donald Trump\u2018s envoy met O\u2019Brien\u2019s team at the Workers\u2019 "
        "Party\u2019s office, a relic of the \u201990s. The players' union didn't comment."
    )
    assert extract(ex, text) == []


def test_nested_single_quotes_stay_inside_the_double_quote(ex):
    text = "\"He told me 'never again' last year,\" Dr Jim Chalk said."
    (q,) = extract(ex, text)
    assert q.text == "He told me 'never again' last year,"


def test_offsets_are_exact(ex):
    text = "Intro line.\n\n  \u201c Spaced out words ,\u201d   Ms Eve Long said.\n"
    (q,) = extract(ex, text)
    assert (q.start, q.end) == (text.index("Spaced"), text.index(" ,") + 2)
    assert text[q.start : q.end] == q.text == "Spaced out words ,"


# ------------------------------------------------------------------------- scare quotes


def test_unattributed_scare_quotes_and_titles_are_ignored(ex):
    text = (
        "The so-called \u201cfair go\u201d package passed the Senate. "
        'Critics see a hand-written "letter" as a stunt.\n\n'
        "Share this: Council Confirms \u2018Big Changes Ahead\u2019"
    )
    assert extract(ex, text) == []


def test_short_quote_counts_when_a_reporting_verb_attributes_it(ex):
    text = (
        'Chief executive Paul Barton said the result was "solid" despite the market. '
        "Union leader Kim Ashby expressed anger at what she called \u201cshameful\u201d cuts."
    )
    quotes = extract(ex, text)
    assert [(q.text, q.canonical_speaker) for q in quotes] == [
        ("solid", "Paul Barton"),
        ("shameful", "Kim Ashby"),
    ]


# ------------------------------------------------------------------------ seed article


@pytest.fixture(scope="module")
def seed_quotes(ex):
    return extract(ex, SEED.read_text(encoding="utf-8"))


def test_seed_christmas_gift_quote(seed_quotes):
    q = find(seed_quotes, "All we know is we were told we were going to get a Christmas gift")
    assert q.canonical_speaker == "Robert O\u2019Brien"
    assert q.speaker == "O\u2019Brien"
    assert "national security adviser" in q.role
    assert q.cue == "said"


def test_seed_continuation_paragraph_is_obrien(seed_quotes):
    q = find(seed_quotes, "And so I think that was an encouraging sign")
    assert q.text.endswith("some sort of test in the future.")
    assert q.canonical_speaker == "Robert O\u2019Brien"


def test_seed_stockholm_quote(seed_quotes):
    q = find(
        seed_quotes, "let them know that we would like to continue the negotiations in Stockholm"
    )
    assert q.canonical_speaker == "Robert O\u2019Brien"
    assert q.role == "White House national security adviser"


def test_seed_headline_and_apostrophes_produce_no_quotes(seed_quotes):
    texts = [q.text for q in seed_quotes]
    assert not any("Continue The Negotiations" in t for t in texts)
    assert all(not t.startswith("s ") for t in texts)  # Trump‘s … Kim’s is no quote
    assert len(seed_quotes) == 6


def test_seed_partial_quotes_attributed_to_kim(seed_quotes):
    # "a “Christmas gift” he said he was planning", "what he called “hostile” policies"
    for words in ("Christmas gift", "hostile"):
        (q,) = [q for q in seed_quotes if q.text == words]
        assert q.speaker == "he"
        assert q.canonical_speaker == "Kim Jong Un"


# ----------------------------------------------------------------------- loading & size


def test_missing_model_raises_config_error_lazily():
    bad = QuoteExtractor("no_such_spacy_model_xyz")  # construction does not load
    with pytest.raises(ConfigError) as err:
        bad.extract('"Hello," she said.')
    msg = str(err.value)
    assert "CITEBOT_SPACY_MODEL" in msg and "no_such_spacy_model_xyz" in msg
    assert "\n" not in msg


def test_pipeline_is_loaded_once_and_shared(ex):
    assert ex.nlp is ex.nlp
    assert QuoteExtractor(DEFAULT_SPACY_MODEL).nlp is ex.nlp


def test_text_without_quote_marks_skips_parsing(ex):
    assert ex.extract("") == []
    assert ex.extract("No quotes at all here.") == []


def test_article_longer_than_max_length(ex):
    nlp = ex.nlp
    old = nlp.max_length
    para = "Minister Joan Doyle opened the bridge. " + '"It is a great day," Doyle said.\n\n'
    text = para * 40
    try:
        nlp.max_length = len(text) // 2
        quotes = extract(ex, text)
    finally:
        nlp.max_length = max(old, nlp.max_length)
    assert len(quotes) == 40
    assert {q.canonical_speaker for q in quotes} == {"Joan Doyle"}


# ------------------------------------------------------------------------ match_speakers


@pytest.mark.parametrize(
    "query",
    ["O'Brien", "Robert O'Brien", "obrien", "O\u2019Brien", "robert obrien", "Brien", "Mr O'Brien"],
)
def test_match_speakers_variants_of_obrien(query):
    hits = match_speakers(query, ["Kim Jong Un", "Robert O\u2019Brien", "Moon Jae-in"])
    assert hits and hits[0][0] == "Robert O\u2019Brien"
    assert all(MATCH_THRESHOLD <= s <= 1.0 for _, s in hits)


def test_match_speakers_first_token_and_ranking():
    hits = match_speakers("Kim", ["Robert O'Brien", "Kim Jong Un"])
    assert [h[0] for h in hits] == ["Kim Jong Un"]
    full = match_speakers("Robert O'Brien", ["O'Brien", "Robert O'Brien"])
    assert full[0] == ("Robert O'Brien", 1.0)
    assert full[1][1] < 1.0


@pytest.mark.parametrize("query", ["John Howard", "Robert Smith", "Trump", "xyz"])
def test_match_speakers_rejects_unrelated_names(query):
    assert match_speakers(query, ["Robert O\u2019Brien", "Kim Jong Un"]) == []


def test_match_speakers_descriptions_and_typos():
    assert match_speakers("a security expert", ["security expert"])[0][1] == 1.0
    assert match_speakers("Musharaf", ["Pervez Musharraf"])
    assert match_speakers("", ["Pervez Musharraf"]) == []


def test_extract_many_matches_extract(ex):
    texts = [
        '"We are ready," Jane Smith said.',
        "",
        "No quotes here.",
        "Minister Joe Park spoke. \u201cIt is done,\u201d he said.",
    ]
    assert list(ex.extract_many(texts, batch_size=2)) == [ex.extract(t) for t in texts]


def test_a_role_does_not_reach_back_into_the_headline(ex):
    text = "Council backs harbour plan\n\nMayor Jane Doe said on Monday: \u201cWe will build the sea wall.\u201d"
    (q,) = extract(ex, text)
    assert q.canonical_speaker == "Jane Doe"
    assert q.role == "Mayor"  # not "plan Mayor"


def test_a_role_wrapped_onto_the_next_line_is_kept_whole(ex):
    text = 'The talks will go on, said New Zealand Prime\nMinister Helen Clark. "We are close," she said.'
    quotes = extract(ex, text)
    assert quotes and quotes[0].canonical_speaker == "Helen Clark"
    assert quotes[0].role == "New Zealand Prime Minister"
