"""S3 fill-ins: large objects on disk and streamed; notifications to Lambda asynchronously (large_objects)."""
