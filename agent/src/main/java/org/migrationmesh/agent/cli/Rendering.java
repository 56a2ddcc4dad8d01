package org.migrationmesh.agent.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.PrintWriter;
import java.util.function.Function;

/** Prints a command's result on stdout: the human table, or JSON for scripts. */
final class Rendering {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper JSON_LINE = new ObjectMapper();

    private Rendering() {}

    static <T> void print(PrintWriter out, GlobalOptions options, T view, Function<T, String> table) {
        if (options.output == GlobalOptions.Format.json) {
            try {
                out.println(JSON.writeValueAsString(view));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot render " + view.getClass().getSimpleName() + " as JSON", e);
            }
        } else {
            out.print(table.apply(view));
        }
        out.flush();
    }

    /** One JSON object per line (for streams), or the table. */
    static <T> void printLine(PrintWriter out, GlobalOptions options, T view, Function<T, String> table) {
        if (options.output == GlobalOptions.Format.json) {
            try {
                out.println(JSON_LINE.writeValueAsString(view));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot render " + view.getClass().getSimpleName() + " as JSON", e);
            }
        } else {
            out.print(table.apply(view));
        }
        out.flush();
    }
}
