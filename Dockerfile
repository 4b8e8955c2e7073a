# carebell worker / CLI image. Stateless: run as many worker containers as the load needs.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
USER node
# The same entry point as `npm run worker`; override the command to run the CLI (`node bin/carebell.js ...`).
CMD ["node", "--import", "tsx", "processes/worker.ts"]
