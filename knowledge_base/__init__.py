"""The curated FAQ: entries and revisions, import/export formats, and the FAISS index over them."""
