"""Turn records into a clean, durable dataset: corpus reading, the Arrow schema, atomic shards, filters,
dataset assembly and reports. No prompts and no model code live here."""
