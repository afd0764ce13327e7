# Dialwell's app image: the HTTP API and dial worker (`dialwell serve`), or any CLI command.
# The build stage compiles dist/ with the dev dependencies; the image keeps production ones only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm rebuild && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sip-tester && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENTRYPOINT ["node", "bin/dialwell.js"]
CMD ["demo"]
