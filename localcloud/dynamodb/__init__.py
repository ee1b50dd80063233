"""DynamoDB: the Streams poller, serializable writes under the threaded server, and a faster Query."""
