# A stand-in for redis:7-alpine: Debian's redis-server (and redis-cli for the health check).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/*
# /data is where docker-compose.yml keeps the append-only file; a new named
# volume takes this folder's owner, so redis can write there.
RUN mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /var/lib/redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
