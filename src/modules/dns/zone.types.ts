/**
 * The shape of DNS data shared by the DNS service (validation, storage, both APIs) and the BIND
 * renderer. Records are stored already validated; the renderer still escapes every field, so a value
 * that slipped past validation can never add a line to a zone file.
 */

export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA', 'NS', 'PTR'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** One resource record of a zone (the SOA is kept apart, in `Zone.soa`). */
export interface DnsRecord {
  /** Owner name relative to the zone origin, lowercase ASCII (punycode); `@` is the apex. */
  name: string;
  type: RecordType;
  /** Seconds; null means the zone's default TTL. */
  ttl: number | null;
  /**
   * The RDATA fields in order, in presentation form except where noted:
   * A [address]; AAAA [address]; CNAME/NS/PTR [target: absolute with a trailing dot];
   * MX [preference, exchange]; SRV [priority, weight, port, target];
   * CAA [flags, tag, value] (value unquoted); TXT [one or more character strings, unquoted and
   * unescaped; the renderer splits each into 255-byte pieces].
   */
  data: string[];
}

export interface Soa {
  /** Primary name server, absolute with a trailing dot. */
  mname: string;
  /** Responsible mailbox in DNS form (`hostmaster.example.com.`). */
  rname: string;
  /** `YYYYMMDDnn`, never going backwards. */
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** Everything needed to render one zone file. */
export interface Zone {
  /** The domain, lowercase ASCII, no trailing dot. */
  origin: string;
  /** `$TTL` of the zone. */
  ttl: number;
  soa: Soa;
  records: DnsRecord[];
}
