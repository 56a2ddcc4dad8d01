package org.migrationmesh.ipfloat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/** Reads the output of {@code ip -j addr show} into {@link Link}s. Pure. */
final class IpAddrJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long FOREVER = 0xFFFF_FFFFL;

    private IpAddrJson() {
    }

    static List<Link> parse(String json) {
        JsonNode root = read(json, "ip -j addr show");
        List<Link> links = new ArrayList<>();
        for (JsonNode link : root) {
            List<Link.Configured> addresses = new ArrayList<>();
            for (JsonNode a : link.path("addr_info")) {
                String local = a.path("local").asText("");
                if (local.isEmpty()) {
                    continue;
                }
                boolean deprecated = a.path("preferred_life_time").asLong(-1) == 0
                        && a.path("valid_life_time").asLong(0) == FOREVER;
                addresses.add(new Link.Configured(literal(local), a.path("prefixlen").asInt(),
                        a.path("label").asText(""), a.path("scope").asText(""), deprecated));
            }
            boolean up = false;
            for (JsonNode flag : link.path("flags")) {
                up |= flag.asText().equals("UP");
            }
            links.add(new Link(link.path("ifname").asText(), link.path("address").asText("").toLowerCase(),
                    up, addresses));
        }
        return links;
    }

    /** The JSON array {@code command} printed (nothing printed: an empty one). */
    static JsonNode read(String json, String command) {
        try {
            return JSON.readTree(json.isBlank() ? "[]" : json);
        } catch (JsonProcessingException e) {
            throw new FloatingIpException("cannot read `" + command + "` output: " + e.getOriginalMessage(), e);
        }
    }

    static InetAddress literal(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            throw new FloatingIpException("`ip` printed a non-literal address: " + text, e);
        }
    }
}
