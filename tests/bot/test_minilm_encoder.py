"""The pure-numpy MiniLM (bot/nlu/minilm.py) against the real thing, in the action
server's environment where sentence-transformers and the HF tokenizer are installed:
the same wordpiece ids and character offsets as the fast tokenizer, sentence vectors
equal to the search's embeddings (cosine >= 0.999), word vectors equal to the mean of
the model's own wordpiece states, and hostile input that never raises."""

from __future__ import annotations

import os

import numpy as np
import pytest

from bot.nlu.minilm import EMBEDDING_DIM, MAX_WORD_CHARS, MiniLMEncoder, default_model_dir, get_encoder

LONG_REVIEW = (
    "I ordered the trail running shoes in size 10 three weeks ago and the tracking page has said "
    "'label created' ever since, so I have no idea whether they were shipped at all. "
) * 6  # well over 128 and 256 wordpieces

SENTENCES = [
    "where is my order #100234?",
    "Wat's the ETA of my pakage??",
    "wheres my refund, still waitin for my money back on order 5521",
    "I want my money back!!! 😡😡",
    "u got waterprof hikng bots size 10?",
    "do you price match?",
    "Hi!",
    "thx 👍🏽",
    "👩‍👩‍👧 family tent for 4 people",
    "running shoes under $60",
    "The first tent is $1 today right? please confirm",
    "I need assistance to check the delivery options for my purchase, if that's OK",
    "CAN I CANCEL MY ORDER NOW",
    "¿Dónde está mi pedido?",
    "Café crème brûlée, naïve résumé",
    "Straße, Größe 42",
    "Привет, где мой заказ?",
    "مرحبا أين طلبي",
    "नमस्ते, मुझे मदद चाहिए",
    "안녕하세요 주문 상태 확인",
    "你好，我想退货",
    "ガソリンスタンド　ｆｕｌｌｗｉｄｔｈ",
    "สวัสดีครับ",
    "ΣΊΣΥΦΟΣ ΟΔΟΣ",
    "İstanbul'a gönderim var mı?",
    "ﬁnancial ﬀ ℌ ① Ⅻ",
    "zero\u200bwidth\u200djoiner",
    "tab\tnew\nline\r\nnbsp\xa0here",
    "a\x85b c\x0bd e\x1cf",
    "https://shop.example/products/trail-boot?id=12&x=y",
    "e-mail: john.doe@example.com, phone +1 (555) 010-9999",
    "supercalifragilisticexpialidocious" * 3,
    "x" * (MAX_WORD_CHARS + 1),
    "?!?!... ---",
    "",
    "   ",
    "\u0301 alone",
    "𠀀𪜀 rare cjk",
    LONG_REVIEW,
    "I'd like to return the hiking boots I bought last week because they're too small; can you help me?",
]


@pytest.fixture(scope="module")
def model_dir():
    return default_model_dir()


@pytest.fixture(scope="module")
def hf_tokenizer(model_dir):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)


@pytest.fixture(scope="module")
def search_embedder():
    """The embedder the product search uses, in float32."""
    from retrieval.embeddings import get_embedder

    return get_embedder("fp32")


@pytest.fixture(scope="module")
def st_model(model_dir):
    """sentence-transformers loaded the way retrieval/embeddings.py loads it, for
    settings the search does not use (max_seq_length, token embeddings)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def encoder_256(model_dir) -> MiniLMEncoder:
    return MiniLMEncoder(model_dir, max_tokens=256, threads=1)


@pytest.fixture(scope="module")
def encoder_128() -> MiniLMEncoder:
    return get_encoder(max_tokens=128, threads=1)


def test_tokenizer_ids_and_offsets_match_the_hf_fast_tokenizer(hf_tokenizer, encoder_128) -> None:
    for text in SENTENCES:
        hf = hf_tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        pieces = encoder_128.tokenizer.tokenize(text)
        assert [p.id for p in pieces] == hf["input_ids"], text
        assert [(p.start, p.end) for p in pieces] == [tuple(o) for o in hf["offset_mapping"]], text
        truncated = hf_tokenizer(text, truncation=True, max_length=128)["input_ids"]
        assert encoder_128.tokenizer.encode_ids(text, max_tokens=128) == truncated, text


def test_sentence_vectors_match_the_search_embeddings(search_embedder, encoder_256) -> None:
    ours = encoder_256.embed(SENTENCES)
    theirs = search_embedder.embed(SENTENCES)
    assert ours.shape == theirs.shape == (len(SENTENCES), EMBEDDING_DIM)
    assert ours.dtype == np.float32
    cosines = np.sum(ours * theirs, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.999, (SENTENCES[worst][:80], float(cosines[worst]))
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_long_text_is_cut_to_128_wordpieces_like_sentence_transformers(st_model, encoder_128) -> None:
    assert len(encoder_128.pieces(LONG_REVIEW)) == 126  # + [CLS] and [SEP]
    old = st_model.max_seq_length
    st_model.max_seq_length = 128
    try:
        theirs = st_model.encode([LONG_REVIEW, SENTENCES[0]], normalize_embeddings=True)
    finally:
        st_model.max_seq_length = old
    ours = encoder_128.embed([LONG_REVIEW, SENTENCES[0]])
    assert np.sum(ours * theirs, axis=1).min() >= 0.999
    # and the cut matters: the 256-token embedding of the same text differs
    assert float(ours[0] @ st_model.encode([LONG_REVIEW], normalize_embeddings=True)[0]) < 0.999


def test_word_vectors_are_the_mean_of_their_wordpiece_states(st_model, hf_tokenizer, encoder_128) -> None:
    words = ["wheres", "my", "waterprof", "hikng", "bots", "#", "100234", "😡"]
    vectors, sentence = encoder_128.encode_tokens(words)
    assert vectors.shape == (len(words), EMBEDDING_DIM) and sentence.shape == (EMBEDDING_DIM,)
    text = " ".join(words)
    states = st_model.encode(text, output_value="token_embeddings").cpu().numpy()  # [CLS] pieces [SEP]
    word_ids = hf_tokenizer(text).word_ids()
    for w in range(len(words)):
        rows = [i for i, wid in enumerate(word_ids) if wid == w]
        assert rows, words[w]
        expected = states[rows].mean(axis=0)
        cos = float(vectors[w] @ expected / (np.linalg.norm(vectors[w]) * np.linalg.norm(expected)))
        assert cos >= 0.999, (words[w], cos)
        assert np.allclose(np.linalg.norm(vectors[w]), np.linalg.norm(expected), rtol=1e-3)
    whole = st_model.encode([text], normalize_embeddings=True)[0]
    assert float(sentence @ whole) >= 0.999


def test_spans_follow_the_text_not_the_word_list(encoder_128) -> None:
    text = "Where's my order?? #100234"
    spans = [(0, 7), (8, 10), (11, 16), (19, 20), (20, 26), (26, 26), (500, 600)]
    encoded = encoder_128.encode(text, spans)
    assert encoded.words.shape == (len(spans), EMBEDDING_DIM)
    assert np.abs(encoded.words[:5]).sum(axis=1).min() > 0
    assert not encoded.words[5].any() and not encoded.words[6].any()  # empty and out-of-text spans: zeros
    # the sentence vector is the whole text's, whatever the spans
    assert np.allclose(encoded.sentence, encoder_128.embed([text])[0], atol=1e-6)


def test_batches_equal_one_at_a_time(encoder_128) -> None:
    texts = SENTENCES[:12]
    spans = [[(0, max(1, len(t) // 2))] for t in texts]
    batched = encoder_128.encode_batch(texts, spans, batch_size=5)
    for text, span, result in zip(texts, spans, batched, strict=True):
        single = encoder_128.encode(text, span)
        assert np.allclose(result.sentence, single.sentence, atol=1e-5), text
        assert np.allclose(result.words, single.words, atol=1e-4), text


@pytest.mark.parametrize(
    "text",
    [
        "x" * 10_000,
        "y" * 1_000_000 + " hello",
        "word " * 10_000,
        "".join(chr(c) for c in range(0, 32)) * 20,
        "!?.,;:'\"()[]{}<>@#$%^&*-_=+|\\/~`" * 50,
        "\ud800\udfff lone surrogates",
        "\u0301" * 500,
        "🏳️‍🌈" * 300,
        "\x00" * 1000,
    ],
    ids=["10k-chars", "1m-chars", "10k-words", "control-chars", "only-punctuation", "surrogates", "combining", "emoji",
         "nul"],
)
def test_hostile_input_never_raises(encoder_128, text: str) -> None:
    encoded = encoder_128.encode(text, [(0, 5), (len(text) - 1, len(text))])
    assert encoded.words.shape == (2, EMBEDDING_DIM)
    assert np.isfinite(encoded.words).all() and np.isfinite(encoded.sentence).all()
    assert len(encoder_128.pieces(text)) <= 126
    assert abs(float(np.linalg.norm(encoded.sentence)) - 1.0) < 1e-5


def test_bad_settings_are_refused(model_dir) -> None:
    with pytest.raises(ValueError):
        MiniLMEncoder(model_dir, max_tokens=2)
    with pytest.raises(ValueError):
        MiniLMEncoder(model_dir, threads=0)
    with pytest.raises(FileNotFoundError):
        get_encoder("/nonexistent/minilm")
    with pytest.raises(ValueError):
        get_encoder(max_tokens=128, threads=1).encode_batch(["a", "b"], [[(0, 1)]])
