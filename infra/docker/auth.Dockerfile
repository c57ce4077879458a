# syntax=docker/dockerfile:1
# The auth image: logins, tokens and sessions; NATS API, admin port 9091, migrations run by migrate.mjs.
# Build from the repository root: docker build -f infra/docker/auth.Dockerfile -t wxmp/auth:TAG .

FROM node:26.12.1-bookworm-slim AS build
RUN npm install --global --no-fund --no-audit pnpm@12.4.2
WORKDIR /src
# Dependencies are fetched from the lockfile alone, so this layer stays cached until the lockfile changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm exec turbo run build --filter=@wxmp/auth...
# Only production dependencies, with the workspace packages copied in as built (their dist/).
RUN pnpm --filter @wxmp/auth deploy --prod /out

FROM node:26.12.1-bookworm-slim
WORKDIR /app
# Owned by root and read-only to the process, which runs as the image's unprivileged node user (1000).
COPY --from=build /out/package.json ./package.json
COPY --from=build /out/node_modules ./node_modules
COPY --from=build /out/dist ./dist
# The SQL migrations are read at run time, by the migration Job (migrate.mjs) and by DATABASE_MIGRATE=true.
COPY --from=build /out/src/db/migrations ./src/db/migrations
COPY infra/docker/migrate.mjs ./migrate.mjs
USER 1000:1000
EXPOSE 9091
CMD ["node", "dist/server.js"]
