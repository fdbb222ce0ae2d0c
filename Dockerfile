# Production image: `docker compose up` runs it as web and worker (see docker-compose.yml).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY workers workers
COPY bench bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY src/db/migrations src/db/migrations
COPY views views
COPY public public
COPY templates templates
COPY locales locales
# Export files are written by workers and served by web processes: a volume shared by both.
RUN mkdir -p /app/data/exports && chown -R node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s CMD ["node", "dist/src/healthcheck.js", "web"]
CMD ["node", "dist/src/main.js", "web"]
