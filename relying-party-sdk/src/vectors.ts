/** Levels of assurance as vectors ("Cl.Cm.P2"): the small comparison the SDK needs. */
const AUTH = ['Cl', 'Cl.Cm', 'Cl.Cm.Cp'];

/** A level vector as two ranks: authentication (Cl = 0, Cl.Cm = 1, Cl.Cm.Cp = 2) and identity confidence (P0..P3 = 0..3). */
export interface ParsedVector {
  authentication: number;
  confidence: number;
}

/** Parse a vector, or undefined when it is not one this SDK understands. */
export function parseVector(v: string): ParsedVector | undefined {
  const parts = v.split('.');
  const p = parts.filter((x) => /^P\d$/.test(x));
  const auth = parts.filter((x) => !/^P\d$/.test(x)).join('.');
  const authentication = AUTH.indexOf(auth);
  if (authentication < 0 || p.length > 1) return undefined;
  return { authentication, confidence: p.length ? Number(p[0]!.slice(1)) : 0 };
}

/** True when `achieved` is at least one of `requested` on both components (authentication and confidence). An unknown vector never meets anything. */
export function meetsAny(achieved: string, requested: readonly string[]): boolean {
  const a = parseVector(achieved);
  if (!a) return false;
  return requested.some((r) => {
    const q = parseVector(r);
    return !!q && a.authentication >= q.authentication && a.confidence >= q.confidence;
  });
}
