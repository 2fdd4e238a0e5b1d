import { inject, it, expect } from "vitest";
import { connect } from "cloudflare:sockets";
it("connects", async () => {
  const port = inject("echoPort" as never) as number;
  const s = connect({ hostname: "127.0.0.1", port });
  const txt = await new Response(s.readable).text();
  expect(txt).toBe("hello from node\n");
});
