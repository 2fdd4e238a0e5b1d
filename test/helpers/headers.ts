// Headers.getSetCookie() exists in workerd and Node but not in every type package we load.
export const setCookies = (h: Headers): string[] => (h as unknown as { getSetCookie(): string[] }).getSetCookie();
