# syntax=docker/dockerfile:1
# The gateway image: the public HTTPS edge (8443), its HTTP redirect listener (8080) and admin port (9090).
# Build from the repository root: docker build -f infra/docker/gateway.Dockerfile -t wxmp/gateway:TAG .

FROM node:26.12.1-bookworm-slim AS build
RUN npm install --global --no-fund --no-audit pnpm@12.4.2
WORKDIR /src
# Dependencies are fetched from the lockfile alone, so this layer stays cached until the lockfile changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm exec turbo run build --filter=@wxmp/gateway...
# Only production dependencies, with the workspace packages copied in as built (their dist/).
RUN pnpm --filter @wxmp/gateway deploy --prod /out

FROM node:26.12.1-bookworm-slim
WORKDIR /app
# Owned by root and read-only to the process, which runs as the image's unprivileged node user (1000).
COPY --from=build /out/package.json ./package.json
COPY --from=build /out/node_modules ./node_modules
COPY --from=build /out/dist ./dist
USER 1000:1000
EXPOSE 8443 8080 9090
CMD ["node", "dist/server.js"]
