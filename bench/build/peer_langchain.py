"""The peer a user would otherwise pick: LangChain's FAISS vector store over HuggingFaceEmbeddings
(sentence-transformers on torch) and its recursive text splitter. Run by bench_index.py.

    python bench/build/peer_langchain.py build CORPUS STORE --model PATH [--chunk-tokens 320]
    python bench/build/peer_langchain.py query STORE QUESTIONS.jsonl --model PATH [--add CORPUS]

`build` prints one JSON line {"documents", "passages", "seconds"}; `query` adds the articles of
`--add` to the store, then times `similarity_search(question, k=5)` per question and prints
{"questions", "p50_ms", "p99_ms"}. The same model and prompts as Khabar ("passage: "/"query: "
for e5), the same article text (read by Khabar's readers), chunks of the same token size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def documents(corpus: Path) -> list:
    from langchain_core.documents import Document

    from index.articles.formats import iter_corpus_files, read_article_bytes
    from index.errors import ArticleError

    docs = []
    for path in iter_corpus_files(corpus):
        try:
            result = read_article_bytes(path.relative_to(corpus).as_posix(), path.read_bytes())
        except ArticleError:
            continue
        for article in result.articles:
            docs.append(
                Document(
                    page_content=article.text, metadata={"id": article.id, "title": article.title}
                )
            )
    return docs


def embeddings(model: str):
    from langchain_huggingface import HuggingFaceEmbeddings

    e5 = "e5" in model.lower()
    return HuggingFaceEmbeddings(
        model_name=model,
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True, **({"prompt": "passage: "} if e5 else {})},
        query_encode_kwargs={"normalize_embeddings": True, **({"prompt": "query: "} if e5 else {})},
    )


def splitter(model: str, chunk_tokens: int, overlap: int):
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    return RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        tokenizer, chunk_size=chunk_tokens, chunk_overlap=overlap
    )


def build(args: argparse.Namespace) -> None:
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy

    started = time.perf_counter()
    docs = documents(args.corpus)
    chunks = splitter(args.model, args.chunk_tokens, args.overlap).split_documents(docs)
    store = FAISS.from_documents(
        chunks, embeddings(args.model), distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT
    )
    store.save_local(str(args.store))
    seconds = time.perf_counter() - started
    print(json.dumps({"documents": len(docs), "passages": len(chunks), "seconds": seconds}))


def query(args: argparse.Namespace) -> None:
    from langchain_community.vectorstores import FAISS

    from bench.common import read_questions

    store = FAISS.load_local(
        str(args.store), embeddings(args.model), allow_dangerous_deserialization=True
    )
    if args.add:
        docs = documents(args.add)
        store.add_documents(
            splitter(args.model, args.chunk_tokens, args.overlap).split_documents(docs)
        )
    questions = read_questions(args.questions, [])
    store.similarity_search(questions[0], k=5)
    times = []
    for question in questions:
        started = time.perf_counter()
        store.similarity_search(question, k=5)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(
        json.dumps(
            {
                "questions": len(times),
                "p50_ms": round(statistics.median(times), 2),
                "p99_ms": round(times[int(0.99 * (len(times) - 1))], 2),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("build", "query"):
        p = sub.add_parser(name)
        if name == "build":
            p.add_argument("corpus", type=Path)
        p.add_argument("store", type=Path)
        if name == "query":
            p.add_argument("questions", type=Path)
            p.add_argument("--add", type=Path)
        p.add_argument("--model", required=True)
        p.add_argument("--chunk-tokens", type=int, default=320)
        p.add_argument("--overlap", type=int, default=40)
    args = parser.parse_args()
    build(args) if args.command == "build" else query(args)


if __name__ == "__main__":
    main()
