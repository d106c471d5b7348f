from flywheel.cluster import NOISE, NOISE_NAME, cluster_keywords, cluster_name, cluster_names

DOCS = [
    "<PERSON_1> asked for a refund of the broken order <ORDER_ID_1>",
    "refund for broken order please, says <PERSON_2>",
    "my order arrived broken and I want a refund",
    "<PERSON_1> cannot reset the password, reset link expired",
    "password reset link expired again for <EMAIL_ADDRESS_1>",
    "the password reset email never came",
    "<PERSON_3> asked about the meaning of life",
]
LABELS = [0, 0, 0, 1, 1, 1, NOISE]


def test_keywords_are_topic_words():
    keywords = cluster_keywords(DOCS, LABELS, top_n=5)
    assert "refund" in keywords[0] or "broken" in keywords[0]
    assert "password" in " ".join(keywords[1]) or "reset" in " ".join(keywords[1])
    assert not {"refund", "broken"} & set(" ".join(keywords[1]).split())


def test_placeholders_never_become_keywords():
    docs = [
        "<PERSON_1> wants a refund for <ORDER_ID_1>",
        "refund for <ORDER_ID_2> requested by <PERSON_2> at <EMAIL_ADDRESS_1>",
        "<PERSON_1> <PERSON_1> <PERSON_1> locked out, password reset failed",
        "password reset failed for <EMAIL_ADDRESS_2> <PHONE_NUMBER_1>",
    ]
    keywords = cluster_keywords(docs, [0, 0, 1, 1], top_n=50)
    words = {w for ws in keywords.values() for term in ws for w in term.split()}
    assert words
    assert not words & {
        "person",
        "person_1",
        "order",
        "order_id",
        "id",
        "email",
        "address",
        "phone",
        "number",
    }


def test_words_common_to_every_cluster_rank_below_distinctive_ones():
    docs = ["please refund the blender", "please refund the toaster", "please reset my password"] * 2
    keywords = cluster_keywords(docs, [0, 0, 1] * 2, top_n=5)
    assert keywords[0][0] == "refund"
    assert "please" not in keywords[0][:1]


def test_overlapping_terms_are_not_repeated():
    keywords = cluster_keywords(["credit card declined", "credit card declined again"], [0, 0], top_n=5)
    flat = " ".join(keywords[0]).split()
    assert len(flat) == len(set(flat))


def test_the_noise_bucket_keeps_its_keywords_but_is_named_unclustered():
    keywords = cluster_keywords(DOCS, LABELS)
    names = cluster_names(keywords)
    assert NOISE in keywords
    assert names[NOISE] == NOISE_NAME == "unclustered"
    assert " · " in names[0]


def test_cluster_name_joins_the_top_three_keywords():
    assert cluster_name(["refund", "broken", "order", "late"]) == "refund · broken · order"
    assert cluster_name([]) == ""


def test_clusters_of_only_stop_words_or_placeholders_get_no_keywords():
    assert cluster_keywords(["<PERSON_1>", "the and of"], [0, 1]) == {0: [], 1: []}


def test_keywords_of_a_real_fit_name_the_topics(topic_corpus, topic_fit):
    texts, _ = topic_corpus
    names = cluster_names(cluster_keywords(texts, topic_fit.labels))
    for topic_word in ("refund", "password", "weather", "recipe"):
        assert sum(topic_word in name.split(" · ") for name in names.values()) == 1, names


def test_inflections_of_a_chosen_word_do_not_take_another_slot():
    docs = [
        "set a reminder",
        "my reminders please",
        "remind me tomorrow",
        "reminder for the dentist appointment",
    ]
    keywords = cluster_keywords([*docs, "weather today", "weather tomorrow"], [0, 0, 0, 0, 1, 1], top_n=3)
    assert sum(w.startswith("remind") for term in keywords[0] for w in term.split()) == 1
