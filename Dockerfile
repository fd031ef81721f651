# One image for the three Node processes; docker-compose.yml picks the command.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
# Two glibc malloc arenas per process instead of up to eight per core, and big buffers (a Kafka fetch's) always in
# mappings of their own, returned when freed: less resident memory, no CPU cost (BENCHMARKS.md).
ENV MALLOC_ARENA_MAX=2
ENV MALLOC_MMAP_THRESHOLD_=131072
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY tsconfig.json ./
COPY common ./common
COPY gateway ./gateway
COPY workers ./workers
USER node
# Started as plain `node` (not through npm) so SIGTERM reaches the process and it shuts down gracefully.
CMD ["node", "--disable-warning=TimeoutNegativeWarning", "--max-semi-space-size=4", "--import", "./common/service/compile-cache.mjs", "--import", "./gateway/instrument.ts", "gateway/server.ts"]
