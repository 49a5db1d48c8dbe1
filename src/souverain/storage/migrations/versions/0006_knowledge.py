"""Knowledge base: collections, documents and chunks, with a full-text and a vector index per dialect.

Full text is per document (a page is what a question is about; chunk-level BM25 favours the short link
pages that merely repeat a title): SQLite gets an FTS5 table over each document's analysed terms, kept in
step by a delete trigger; PostgreSQL gets a ``tsvector`` column on documents with a GIN index. Vectors are
per chunk: PostgreSQL gets, where the ``vector`` extension can be created, a pgvector column with an
HNSW index. A PostgreSQL server without pgvector still migrates
(the gateway runs on it); the knowledge service then refuses to serve, saying why.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
DIMENSIONS = 512  # the bundled multilingual sentence encoder's


def upgrade() -> None:
    op.create_table(
        "knowledge_collections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("classification", sa.String(16), nullable=False),
        sa.Column("use_cases", sa.JSON, nullable=False),
        sa.Column("index_titles", sa.Boolean, nullable=False),
        # bumped by every change to the collection's chunks: searchers drop cached vectors on a new value
        sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("tenant", "name", name="knowledge_collections_tenant_name"),
    )
    op.create_table(
        "knowledge_documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "collection_id",
            sa.Integer,
            sa.ForeignKey("knowledge_collections.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("document_id", sa.String(300), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("collection_id", "document_id", name="knowledge_documents_collection_document"),
    )
    op.create_table(
        "knowledge_chunks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "document_pk",
            sa.Integer,
            sa.ForeignKey("knowledge_documents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        # repeated from the document so that both indexes filter by collection without a join
        sa.Column(
            "collection_id",
            sa.Integer,
            sa.ForeignKey("knowledge_collections.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("section", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=False),  # float32 little-endian, unit length
    )
    op.create_index("ix_knowledge_chunks_document_pk", "knowledge_chunks", ["document_pk"])
    op.create_index("ix_knowledge_chunks_collection_id", "knowledge_chunks", ["collection_id"])
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_fulltext()
    elif op.get_bind().dialect.name == "postgresql":
        _postgresql_indexes()


def _sqlite_fulltext() -> None:
    # a document's analysed terms (stemmed, stop words removed), one column per field so BM25 can weigh
    # them; the rowid is the document's id
    op.execute(
        "CREATE VIRTUAL TABLE knowledge_fts USING fts5("
        "title, body, tokenize = 'unicode61 remove_diacritics 2')"
    )
    # documents go when their collection goes (cascades fire triggers): so do their terms
    op.execute(
        "CREATE TRIGGER knowledge_documents_fts_delete AFTER DELETE ON knowledge_documents "
        "BEGIN DELETE FROM knowledge_fts WHERE rowid = old.id; END"
    )


def _postgresql_indexes() -> None:
    op.execute("ALTER TABLE knowledge_documents ADD COLUMN tsv tsvector")
    op.execute("CREATE INDEX ix_knowledge_documents_tsv ON knowledge_documents USING gin (tsv)")
    if not _create_vector_extension():
        return
    op.execute(f"ALTER TABLE knowledge_chunks ADD COLUMN embedding_vec vector({DIMENSIONS})")
    # vectors are unit length: inner product ranks as cosine does, and is cheaper
    op.execute(
        "CREATE INDEX ix_knowledge_chunks_embedding_vec ON knowledge_chunks "
        "USING hnsw (embedding_vec vector_ip_ops)"
    )


def _create_vector_extension() -> bool:
    """Whether pgvector is there; a failure is rolled back to a savepoint, not the migration."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    except sa.exc.DBAPIError:
        return False
    return True


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS knowledge_documents_fts_delete")
        op.execute("DROP TABLE IF EXISTS knowledge_fts")
    op.drop_table("knowledge_chunks")
    op.drop_table("knowledge_documents")
    op.drop_table("knowledge_collections")
