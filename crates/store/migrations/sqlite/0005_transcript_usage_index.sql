-- Transcript usage by token counts: a usage span finds the transcript entry of the same
-- call with one index probe instead of scanning every event of its minutes.
CREATE INDEX events_transcript_usage ON events(input, output, ts)
    WHERE kind = 'message.assistant' AND source <> 'otel';
