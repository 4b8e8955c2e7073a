# carebell worker / CLI image. Stateless: run as many worker containers as the load needs.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# glibc otherwise raises its trim threshold after large frees and keeps what a burst of journeys freed:
# a worker with 1,000 journeys cached settled at about 550 MiB instead of 315 (see README, Configuration).
ENV MALLOC_TRIM_THRESHOLD_=131072
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
# Workers load this prebuilt workflow bundle instead of bundling at every start; the CLI runs compiled.
RUN npm run build
USER node
# The worker's TypeScript runs through tsx (esbuild at load time, no cost after start): locales, journeys
# and migrations are found beside their source files, and one tree serves every process.
# The same entry point as `npm run worker`; override the command to run the CLI (`node bin/carebell.js ...`).
CMD ["node", "--import", "tsx", "processes/worker.ts"]
