// CIDR parsing and matching, access rules in nginx's order, and the client address behind
// trusted proxies (real_ip_from).
import { describe, expect, it } from "vitest";
import { accessAllows, parseAccessRule, type AccessRule } from "../../src/edge/access.js";
import { cidrContains, parseCidr, parseIp, type Cidr } from "../../src/edge/cidr.js";
import { realClientAddress } from "../../src/edge/real-ip.js";

const cidr = (s: string): Cidr => {
  const r = parseCidr(s);
  if ("problem" in r) throw new Error(r.problem);
  return r;
};
const rules = (...t: string[]): AccessRule[] =>
  t.map((s) => {
    const r = parseAccessRule(s);
    if ("problem" in r) throw new Error(r.problem);
    return r;
  });
const inside = (block: string, addr: string) => cidrContains(cidr(block), parseIp(addr)!);

describe("addresses", () => {
  it.each(["10.0.0.1", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "::ffff:10.1.2.3", "fe80::1%eth0", "[::1]", "1:2:3:4:5:6:7:8", "1::8", "64:ff9b::192.0.2.33"])(
    "%s parses",
    (a) => expect(parseIp(a)).not.toBeNull(),
  );
  it.each(["", "unknown", "10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.1.2", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", ":::", "1.2.3.4::", "g::1", "10.0.0.1/8", " ", "1:2:3:4:5:6:7"])(
    "%j does not parse",
    (a) => expect(parseIp(a)).toBeNull(),
  );
  it("the long and short IPv6 forms are one address", () => {
    expect(parseIp("2001:0db8:0000:0000:0000:0000:0000:0001")).toEqual(parseIp("2001:db8::1"));
  });
});

describe("CIDR blocks", () => {
  it("IPv4 blocks match their addresses and no others", () => {
    expect(inside("10.0.0.0/8", "10.255.1.2")).toBe(true);
    expect(inside("10.0.0.0/8", "11.0.0.0")).toBe(false);
    expect(inside("192.168.1.128/25", "192.168.1.200")).toBe(true);
    expect(inside("192.168.1.128/25", "192.168.1.127")).toBe(false);
    expect(inside("0.0.0.0/0", "203.0.113.9")).toBe(true);
    expect(inside("203.0.113.9", "203.0.113.9")).toBe(true);
    expect(inside("203.0.113.9", "203.0.113.10")).toBe(false);
  });
  it("an IPv4 block matches the IPv4-mapped IPv6 form of its addresses, and no IPv6 address", () => {
    expect(inside("10.0.0.0/8", "::ffff:10.1.2.3")).toBe(true);
    expect(inside("0.0.0.0/0", "2001:db8::1")).toBe(false);
    expect(inside("0.0.0.0/0", "::1")).toBe(false);
  });
  it("IPv6 blocks", () => {
    expect(inside("2001:db8::/32", "2001:db8:ffff::1")).toBe(true);
    expect(inside("2001:db8::/32", "2001:db9::1")).toBe(false);
    expect(inside("::/0", "::1")).toBe(true);
    expect(inside("::1", "::1")).toBe(true);
    expect(inside("2001:db8::/33", "2001:db8:8000::1")).toBe(false);
    expect(inside("2001:db8::/33", "2001:db8:7fff::1")).toBe(true);
  });
  it("refuses host bits under the prefix and says which network was meant", () => {
    const r = parseCidr("10.1.2.3/8");
    expect(r).toMatchObject({ problem: expect.stringContaining("below its /8"), hint: expect.stringContaining("10.0.0.0/8") });
    expect(parseCidr("2001:db8::1/32")).toMatchObject({ hint: expect.stringContaining("2001:db8::/32") });
  });
  it("refuses bad prefix lengths and non-addresses", () => {
    expect(parseCidr("10.0.0.0/33")).toHaveProperty("problem");
    expect(parseCidr("::/129")).toHaveProperty("problem");
    expect(parseCidr("10.0.0.0/08")).toHaveProperty("problem");
    expect(parseCidr("localhost")).toHaveProperty("problem");
    expect(parseCidr("fe80::1%eth0")).toHaveProperty("problem");
  });
});

describe("access rules", () => {
  const list = rules("allow 10.0.0.0/8", "allow 2001:db8::/32", "deny all");
  it("first match wins", () => {
    expect(accessAllows(list, "10.9.9.9")).toBe(true);
    expect(accessAllows(list, "2001:db8::5")).toBe(true);
    expect(accessAllows(list, "192.0.2.1")).toBe(false);
    expect(accessAllows(list, "::ffff:10.0.0.1")).toBe(true);
    expect(accessAllows(rules("deny 10.0.0.1", "allow 10.0.0.0/8", "deny all"), "10.0.0.1")).toBe(false);
    expect(accessAllows(rules("deny 10.0.0.1", "allow 10.0.0.0/8", "deny all"), "10.0.0.2")).toBe(true);
  });
  it("no rule matching allows (nginx)", () => {
    expect(accessAllows(rules("deny 192.0.2.0/24"), "198.51.100.1")).toBe(true);
  });
  it("an address that does not parse matches no allow, so deny all refuses it", () => {
    expect(accessAllows(list, undefined)).toBe(false);
    expect(accessAllows(list, "garbage")).toBe(false);
    expect(accessAllows(rules("allow 0.0.0.0/0", "allow ::/0", "deny all"), "unknown")).toBe(false);
  });
  it("refuses what is no rule", () => {
    expect(parseAccessRule("permit 10.0.0.0/8")).toHaveProperty("problem");
    expect(parseAccessRule("allow")).toHaveProperty("problem");
    expect(parseAccessRule("deny 10.0.0.0/8 extra")).toHaveProperty("problem");
  });
});

describe("the client address behind trusted proxies", () => {
  const trusted = [cidr("127.0.0.1"), cidr("10.0.0.0/8")];
  it("an untrusted peer is the client, whatever it forwards", () => {
    expect(realClientAddress("192.0.2.7", "10.0.0.1", trusted)).toBe("192.0.2.7");
  });
  it("a trusted peer's X-Forwarded-For is read from the right, past trusted hops", () => {
    expect(realClientAddress("127.0.0.1", "198.51.100.2", trusted)).toBe("198.51.100.2");
    expect(realClientAddress("127.0.0.1", "6.6.6.6, 198.51.100.2, 10.1.1.1", trusted)).toBe("198.51.100.2");
    expect(realClientAddress("127.0.0.1", "10.2.2.2, 10.1.1.1", trusted)).toBe("10.2.2.2");
    expect(realClientAddress("127.0.0.1", "[2001:db8::9]", trusted)).toBe("2001:db8::9");
    expect(realClientAddress("127.0.0.1", "::ffff:198.51.100.3", trusted)).toBe("198.51.100.3");
  });
  it("a forged left part never wins over the address the trusted proxy appended", () => {
    expect(realClientAddress("10.0.0.5", "10.0.0.9, 203.0.113.5", trusted)).toBe("203.0.113.5");
  });
  it("without the header, or without trusted proxies, the peer stands", () => {
    expect(realClientAddress("127.0.0.1", null, trusted)).toBe("127.0.0.1");
    expect(realClientAddress("127.0.0.1", "198.51.100.2", [])).toBe("127.0.0.1");
  });
  it("a hop that does not parse makes the client unknown", () => {
    expect(realClientAddress("127.0.0.1", "bogus", trusted)).toBeUndefined();
    expect(realClientAddress("127.0.0.1", "198.51.100.2, bogus", trusted)).toBeUndefined();
  });
});
