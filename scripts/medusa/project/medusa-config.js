// A plain JS config (no TypeScript step) with the admin dashboard off (no vite build).
const { loadEnv, defineConfig } = require("@medusajs/framework/utils")
loadEnv(process.env.NODE_ENV || "development", process.cwd())
module.exports = defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    databaseDriverOptions: { connection: { ssl: false } },
    http: {
      storeCors: "http://127.0.0.1:8000",
      adminCors: "http://127.0.0.1:9010",
      authCors: "http://127.0.0.1:8000,http://127.0.0.1:9010",
      jwtSecret: "e2e-only-jwt-secret",
      cookieSecret: "e2e-only-cookie-secret",
    },
  },
  admin: { disable: true },
})
