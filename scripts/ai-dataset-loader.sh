#!/bin/sh
# The image's second entrypoint (installed as /usr/local/bin/ai-dataset-loader): the dataset loader, which a
# Dataset's prefetch Job runs as its command; the image's ENTRYPOINT is the server.
exec /usr/local/bin/node /app/dist/loader/main.js "$@"
