import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";

// Projects: "unit" runs in Node (codec, config, routing, vectors, CLI), "unit-scalar" the codec's
// suites again on the scalar Wasm build; "integration" runs real
// origins behind `edgepass dev`; "hosts" runs the codec corpus in five JavaScript hosts;
// "workers" runs inside workerd through the real gateway code against real origins.
export default defineConfig({
  test: {
    // Vitest's default is one file at a time per core but one. Most files here spend their time
    // waiting on the origins and gateways they start, not on the CPU: on two cores, three files
    // at a time take the suite from about 11 minutes to under 7.
    maxWorkers: Math.max(3, availableParallelism() - 1),
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
        },
      },
      {
        // The codec's vector, differential and ABI suites again on the scalar build
        // (edgepass-scalar.wasm), which hosts without Wasm SIMD load instead of edgepass.wasm.
        test: {
          name: "unit-scalar",
          include: [
            "test/unit/vectors.test.ts",
            "test/unit/http-diff.test.ts",
            "test/unit/codec-{abi,http-abi,http,cgi,fastcgi-encode,fastcgi-decode,fastcgi-request}.test.ts",
          ],
          environment: "node",
          testTimeout: 60_000,
          env: { EDGEPASS_WASM_BUILD: "scalar" },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      {
        // The codec corpus in Node, Deno, Bun, Chromium and workerd (npm run test:hosts).
        test: {
          name: "hosts",
          include: ["test/hosts/**/*.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            miniflare: {
              compatibilityDate: "2026-04-20",
              compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
              // The Worker imports the .wasm as a compiled module (workerd refuses to compile
              // Wasm from bytes); this rule makes the test runner load it the way wrangler does.
              modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
              // Workers Static Assets and an R2 bucket, as wrangler.toml binds them, for the
              // gateway's file stores (test/workers/static.test.ts).
              assets: {
                directory: fileURLToPath(new URL("./test/fixtures/site", import.meta.url)),
                binding: "ASSETS",
                assetConfig: { html_handling: "none", not_found_handling: "none" },
              },
              r2Buckets: ["UPLOADS"],
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          globalSetup: ["test/workers/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The Worker entry and its UpstreamPool Durable Object together, so a test can restart
        // the object mid-load (abortAllDurableObjects) and count what the clients and the
        // origin saw. The config names the php-fpm the global setup starts.
        plugins: [
          // workers/gateway.ts imports the bundled edgepass.toml as text, as wrangler's rule does.
          { name: "toml-as-text", transform: (code: string, id: string) => (id.endsWith(".toml") ? `export default ${JSON.stringify(code)};` : undefined) },
          cloudflareTest(({ inject }) => ({
            main: "./workers/gateway.ts",
            miniflare: {
              compatibilityDate: "2026-04-20",
              compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
              modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
              durableObjects: { UPSTREAM_POOL: "UpstreamPool" },
              bindings: {
                EDGEPASS_CONFIG: [
                  "[upstreams.php]",
                  'protocol = "fastcgi"',
                  `servers = ["127.0.0.1:${inject("poolPhpPort")}"]`,
                  "max_connections = 1",
                  "[[routes]]",
                  'match = "/"',
                  'upstream = "php"',
                  `root = "${inject("poolPhpRoot")}"`,
                  "",
                ].join("\n"),
              },
            },
          })),
        ],
        test: {
          name: "workers-pool",
          include: ["test/workers-pool/**/*.test.ts"],
          globalSetup: ["test/workers-pool/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
