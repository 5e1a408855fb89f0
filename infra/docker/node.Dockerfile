# A stand-in for node:20-bookworm-slim on a machine with no image registry:
# this machine's own node and npm on a Debian rootfs made by debootstrap.
# Built by build-local-images.sh, which lays out the context.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
# The CA bundle this machine trusts, so npm reaches the registry as it does here.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
