"""The inbox: conversations, durable intake, the job queue, handling and delivery of replies."""
