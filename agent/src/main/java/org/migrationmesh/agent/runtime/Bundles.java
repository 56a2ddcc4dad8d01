package org.migrationmesh.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Checks that a bundle can be run before runc is asked to, so errors name what is missing. */
final class Bundles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Bundles() {}

    static void check(String id, Path bundle) {
        Path config = bundle.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new RuntimeFailure(id, Phase.BUNDLE, "bundle " + bundle + " has no config.json");
        }
        JsonNode root;
        try {
            root = JSON.readTree(config.toFile());
        } catch (IOException e) {
            throw new RuntimeFailure(id, Phase.BUNDLE, "bundle " + bundle + ": config.json is not valid JSON: " + e.getMessage(), e);
        }
        String rootPath = root.path("root").path("path").asText("");
        if (rootPath.isEmpty()) {
            throw new RuntimeFailure(id, Phase.BUNDLE, "bundle " + bundle + ": config.json has no root.path");
        }
        Path rootfs = bundle.resolve(rootPath);
        if (!Files.isDirectory(rootfs)) {
            throw new RuntimeFailure(id, Phase.BUNDLE, "bundle " + bundle + ": rootfs " + rootfs + " does not exist");
        }
    }
}
