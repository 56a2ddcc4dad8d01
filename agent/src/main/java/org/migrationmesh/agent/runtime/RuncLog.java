package org.migrationmesh.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads the error messages out of runc's JSON log ({@code --log-format json}). */
final class RuncLog {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RuncLog() {}

    /** The "msg" of every error/fatal line, joined by newlines; empty if none or unreadable. */
    static String errors(Path logFile) {
        if (logFile == null || !Files.exists(logFile)) return "";
        List<String> msgs = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(logFile)) {
                if (line.isBlank()) continue;
                try {
                    JsonNode n = JSON.readTree(line);
                    String level = n.path("level").asText();
                    if (level.equals("error") || level.equals("fatal")) msgs.add(n.path("msg").asText());
                } catch (IOException notJson) {
                    msgs.add(line);
                }
            }
        } catch (IOException e) {
            return "";
        }
        return String.join("\n", msgs);
    }
}
