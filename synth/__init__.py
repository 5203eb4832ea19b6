"""What to ask the LLM and how to read its answer: backends, prompts, generation tasks, knowledge graph.

Nothing here does dataset I/O or knows about Prefect; `pipelines`, `trainers` and `flows` build on it.
"""
